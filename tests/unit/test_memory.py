"""The allocator policies of an inversion: freed arrays reused, or returned within a bound."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from sbas_selector.core import memory
from sbas_selector.core.memory import heap_policy

glibc = pytest.mark.skipif(memory._libc() is None, reason="glibc's allocator only")


#: Page faults of filling a 16 MiB array just after a larger one was freed, under each policy,
#: measured in a fresh interpreter: in a long-lived one (this test session) the heap may
#: already hold large free chunks, which glibc serves before any mapping, whatever the policy.
SCENARIOS = """
import json, resource, numpy as np
from sbas_selector.core.memory import heap_policy

def faults():
    first = np.ones(4 * 2**20)  # 32 MiB
    del first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    second = np.ones(2 * 2**20)
    del second
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

found = {}
with heap_policy(False):
    faults()
    found["kept"] = min(faults() for _ in range(3))
with heap_policy(True):
    found["returned"] = min(faults() for _ in range(3))
with heap_policy(False):
    with heap_policy(True):
        found["returned_while_both"] = faults()
    faults()
    found["kept_again"] = faults()
print(json.dumps(found))
"""


def _faults() -> dict[str, int]:
    done = subprocess.run([sys.executable, "-c", SCENARIOS], capture_output=True, text=True,
                          check=True, timeout=120)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_applies_on_glibc_only():
    with heap_policy(False) as applied:
        assert applied == sys.platform.startswith("linux")  # glibc here (Debian)


@glibc
def test_freed_arrays_are_reused_unless_memory_must_go_back():
    found = _faults()
    assert found["kept"] <= 2  # the freed memory, already touched
    assert found["returned"] >= 8  # fresh pages from the system every time (16 MiB: 8 huge
    # pages at least)
    assert found["returned_while_both"] >= 8  # a run that returns memory wins while both run
    assert found["kept_again"] <= 2  # and the other's policy is back once it has ended


@glibc
def test_the_runs_in_progress_are_counted_back_to_none_however_they_end():
    with heap_policy(False), heap_policy(True):
        assert memory._active == {True: 1, False: 1}
    assert memory._active == {True: 0, False: 0}
    with pytest.raises(RuntimeError), heap_policy(False):
        raise RuntimeError("a failed run")
    assert memory._active == {True: 0, False: 0}
