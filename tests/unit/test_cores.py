"""Thread pools sized from the cores this process may run on, and the bench's pinning."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sbas_selector.core.cores import usable_cores

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_usable_cores_are_the_affinity_not_the_machine(monkeypatch):
    """A batch job given 3 cores of a 64-core node sizes its threads for 3."""
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {4, 5, 9}, raising=False)
    assert usable_cores() == 3


def test_usable_cores_without_an_affinity_are_the_machine(monkeypatch):
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert usable_cores() == 6
    monkeypatch.setattr(os, "cpu_count", lambda: None)  # unknown: one
    assert usable_cores() == 1


def test_an_inversion_reads_with_a_thread_per_usable_core(monkeypatch):
    """One reader where the process may use one core (``taskset -c 0``), however many the
    machine has."""
    from sbas_selector.core.inversion import run as run_module
    from sbas_selector.core.inversion.options import InversionOptions
    from sbas_selector.core.simulation import SimulationConfig, simulate
    from sbas_selector.core.stack_types import Window

    stack = simulate(SimulationConfig(seed=3, n_dates=6, rows=16, cols=16)).to_stack()
    setup = run_module.prepare(stack, None, InversionOptions(), read_reference=False)
    pools = []
    real_pool = run_module.ThreadPoolExecutor

    def spy(max_workers):
        pools.append(max_workers)
        return real_pool(max_workers=max_workers)

    monkeypatch.setattr(run_module, "ThreadPoolExecutor", spy)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    for cores, expected in ((1, 1), (3, 3), (16, 4)):
        monkeypatch.setattr(run_module, "usable_cores", lambda cores=cores: cores)
        pools.clear()
        phase, _ = run_module.read_block(stack, setup, Window(0, 0, 16, 16))
        assert pools == [expected]
        assert np.isfinite(phase).any()


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity")
                    or len(os.sched_getaffinity(0)) < 2,
                    reason="needs a CPU affinity of two CPUs or more (else pinned and unpinned "
                           "look the same)")
def test_the_bench_runs_a_tool_on_the_cpus_it_is_given(tmp_path):
    """``bench_sbas.py --cores N`` pins every timed tool through ``measure.py``."""
    first = min(os.sched_getaffinity(0))
    result, seen = tmp_path / "run.json", tmp_path / "cpus.txt"
    command = [sys.executable, "-c", "import os, sys; open(sys.argv[1], 'w').write("
               "','.join(map(str, sorted(os.sched_getaffinity(0)))))", str(seen)]
    subprocess.run([sys.executable, "-S", str(BENCH / "measure.py"), str(result), *command],
                   env={**os.environ, "BENCH_CPUS": str(first)}, check=True)
    assert seen.read_text() == str(first)
    assert json.loads(result.read_text())["seconds"] > 0
    env = {k: v for k, v in os.environ.items() if k != "BENCH_CPUS"}
    subprocess.run([sys.executable, "-S", str(BENCH / "measure.py"), str(result), *command],
                   env=env, check=True)
    assert seen.read_text() == ",".join(map(str, sorted(os.sched_getaffinity(0))))
