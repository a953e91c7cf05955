"""Thread pools sized from the cores this process may run on."""

from __future__ import annotations

import os

import numpy as np

from sbas_selector.core.cores import usable_cores


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
