"""How many CPU cores this process may run on: what its thread pools are sized from."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity: ``taskset``, a container's or a batch
    job's CPU set), at least 1; all of the machine's where the affinity is unknown (macOS,
    Windows).

    A job given 2 cores of a 64-core node sees 64 in :func:`os.cpu_count`: threads sized from
    that would share its 2 cores and slow each other down.
    """
    if hasattr(os, "sched_getaffinity"):
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except OSError:
            pass
    return max(1, os.cpu_count() or 1)
