"""Shared fixtures: the real Mexico City stack and small simulated stacks."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REAL_STACK = (REPO / ".." / "shared" / "data" / "real" / "mexico_city_cropA").resolve()


@pytest.fixture(scope="session")
def real_stack_path() -> Path:
    if not REAL_STACK.is_dir():
        pytest.fail(f"real test data missing: {REAL_STACK} (see ../shared/data/real/README.md)")
    return REAL_STACK


@pytest.fixture(scope="session")
def small_simulation():
    """A small simulated stack (UTM grid), shared by tests that only read it."""
    from sbas_selector.core.simulation import SimulationConfig, simulate

    return simulate(SimulationConfig(seed=7, n_dates=12, rows=48, cols=64))


@pytest.fixture(scope="session")
def small_geographic_simulation():
    from sbas_selector.core.simulation import SimulationConfig, simulate

    return simulate(SimulationConfig(seed=7, n_dates=12, rows=48, cols=64, geographic=True))
