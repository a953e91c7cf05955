"""The fast simulation mode: frame-sized HyP3 stacks written pair by pair."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from sbas_selector.cli import main
from sbas_selector.core import open_stack
from sbas_selector.core.simulation import SimulationConfig
from sbas_selector.core.simulation.fast import bilinear_upsampler, write_fast_hyp3


@pytest.fixture(scope="module")
def fast_stack(tmp_path_factory):
    out = tmp_path_factory.mktemp("fast")
    config = SimulationConfig(seed=5, n_dates=20, rows=96, cols=112)
    return write_fast_hyp3(config, out, coarse=4), out


def test_the_fast_stack_opens_as_hyp3_with_every_pair(fast_stack):
    sim, _ = fast_stack
    stack = open_stack(sim.hyp3)
    assert stack.format_name == "hyp3"
    assert stack.n_pairs == len(sim.pairs) > 40
    assert stack.n_dates == 20
    assert (stack.grid.height, stack.grid.width) == (96, 112)
    assert stack.pair_ids == sorted(p.pair_id for p in sim.pairs)
    np.testing.assert_allclose(stack.bperp_m, [p.bperp_m for p in sorted(
        sim.pairs, key=lambda p: (p.date1, p.date2))], atol=1e-3)
    phase = stack.read_phase(0)
    coherence = stack.read_coherence(0)
    assert 0.5 < np.isfinite(phase).mean() < 1.0  # water and unwrapper holes are missing
    assert np.nanmin(coherence) >= 0.0 and np.nanmax(coherence) <= 1.0


def test_truth_labels_name_every_pair_with_low_quality_causes(fast_stack):
    sim, out = fast_stack
    with open(out / "truth" / "labels.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["pair_id"] for r in rows] == [p.pair_id for p in sim.pairs]
    low = [r for r in rows if r["label"] == "low"]
    assert 0.15 <= len(low) / len(rows) <= 0.5
    assert all(r["causes"] for r in low)
    assert {c for r in low for c in r["causes"].split(";")} >= {"unwrapping_error",
                                                                "orbital_ramp"}
    for name in ("velocity.tif", "dem.tif", "timeseries.tif", "config.json"):
        assert (out / "truth" / name).is_file()


def test_same_seed_same_stack(tmp_path, fast_stack):
    sim, _ = fast_stack
    again = write_fast_hyp3(SimulationConfig(seed=5, n_dates=20, rows=96, cols=112),
                            tmp_path, coarse=4, threads=1)
    assert [t.label for t in again.truth_labels] == [t.label for t in sim.truth_labels]
    a, b = open_stack(sim.hyp3), open_stack(again.hyp3)
    np.testing.assert_array_equal(a.read_phase(3, referenced=False),
                                  b.read_phase(3, referenced=False))


def test_bilinear_upsampler_keeps_constants_and_ramps():
    weights = bilinear_upsampler(4, 16).toarray()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    ramp = weights @ np.arange(4.0)
    assert np.all(np.diff(ramp) >= 0) and ramp[0] == 0 and ramp[-1] == 3


def test_simulate_fast_on_the_command_line(tmp_path, capsys):
    assert main(["simulate", "--fast", "--out", str(tmp_path), "--dates", "8",
                 "--size", "40x48", "--seed", "2"]) == 0
    assert "fast mode" in capsys.readouterr().out
    assert open_stack(tmp_path / "hyp3").n_pairs > 10
    assert main(["simulate", "--fast", "--out", str(tmp_path / "x"), "--format",
                 "mintpy"]) == 2
