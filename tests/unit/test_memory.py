"""The allocator policies of an inversion: freed arrays reused, or returned within a bound."""

from __future__ import annotations

import resource
import sys

import numpy as np
import pytest

from sbas_selector.core import memory
from sbas_selector.core.memory import heap_policy

glibc = pytest.mark.skipif(memory._libc() is None, reason="glibc's allocator only")


def _faults_of_a_reused_array() -> int:
    """Page faults of filling a 16 MiB array just after a larger one was freed."""
    first = np.ones(4 * 2**20)  # 32 MiB
    del first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    second = np.ones(2 * 2**20)
    del second
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_applies_on_glibc_only():
    with heap_policy(False) as applied:
        assert applied == sys.platform.startswith("linux")  # glibc here (Debian)


@glibc
def test_freed_arrays_are_reused_unless_memory_must_go_back():
    with heap_policy(False):
        _faults_of_a_reused_array()
        kept = min(_faults_of_a_reused_array() for _ in range(3))
    with heap_policy(True):
        returned = min(_faults_of_a_reused_array() for _ in range(3))
    assert kept <= 2  # the freed memory, already touched
    assert returned >= 8  # fresh pages from the system every time (16 MiB: 8 huge pages)


@glibc
def test_a_run_that_returns_memory_wins_while_both_run_and_the_state_is_restored():
    with heap_policy(False):
        with heap_policy(True):
            assert _faults_of_a_reused_array() >= 8
        _faults_of_a_reused_array()
        assert _faults_of_a_reused_array() <= 2
    assert memory._active == {True: 0, False: 0}
    with pytest.raises(RuntimeError), heap_policy(False):
        raise RuntimeError("a failed run")
    assert memory._active == {True: 0, False: 0}
