"""The allocator setting that keeps a memory-bounded inversion within its budget."""

from __future__ import annotations

import sys

from sbas_selector.core.memory import fix_mmap_threshold


def test_fix_mmap_threshold_is_idempotent_and_glibc_only():
    first = fix_mmap_threshold()
    assert first == sys.platform.startswith("linux")  # glibc here (Debian)
    assert fix_mmap_threshold() == first
