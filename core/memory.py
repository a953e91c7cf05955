"""Keep a memory-bounded run's resident memory near what its arrays use.

glibc raises its mmap threshold each time a large block is freed (up to 32 MiB), after which
arrays of up to that size come from the heap and stay there once freed: a block-wise inversion
then holds tens of MiB more than its arrays (measured here: 31 MiB above an open-only process
for a 23 MiB budget, with the arrays peaking at 17 MiB). Fixing the threshold at glibc's own
default keeps large arrays on mmap, returned to the system when freed.
"""

from __future__ import annotations

import ctypes
import sys

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
_DEFAULT_THRESHOLD = 128 * 1024
_state = {"fixed": False}


def fix_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold (process-wide, once); False where not glibc (no-op)."""
    if _state["fixed"]:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _state["fixed"] = bool(mallopt(_M_MMAP_THRESHOLD, _DEFAULT_THRESHOLD))
    return _state["fixed"]
