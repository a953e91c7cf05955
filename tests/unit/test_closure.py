"""Per-pixel triplet closure: small local unwrapping errors found, attributed and repaired."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from sbas_selector.core.closure import check_closure, check_phase, correction_effect
from sbas_selector.core.sources import ArraySource
from sbas_selector.core.stack import Stack
from sbas_selector.core.stack_types import Grid, Pair

ROWS, COLS = 48, 64
TWO_PI = 2 * np.pi


def network(n_dates: int, max_step: int) -> tuple[list[date], list[tuple[int, int]]]:
    dates = [date(2020, 1, 1) + timedelta(days=12 * k) for k in range(n_dates)]
    pairs = [(i, j) for i in range(n_dates) for j in range(i + 1, n_dates) if j - i <= max_step]
    return dates, pairs


def synthetic_phase(n_dates: int, pairs: list[tuple[int, int]], seed: int = 0,
                    noise: float = 0.15) -> np.ndarray:
    """Pairs of a smooth per-date signal (with a gradient steeper than pi per pixel in places,
    a real signal), noise, and each pair's own constant 2 pi k offset; (n_pairs, rows, cols)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:ROWS, 0:COLS] / 8.0
    per_date = np.stack([rng.normal() * np.sin(yy + rng.normal()) * 3
                         + rng.normal() * xx * 1.5 for _ in range(n_dates)])
    phase = np.stack([per_date[j] - per_date[i] for i, j in pairs])
    phase += rng.normal(0, noise, phase.shape)
    phase += TWO_PI * rng.integers(-5, 6, len(pairs))[:, None, None]
    return phase.astype(np.float32)


def run(phase: np.ndarray, dates: list[date], pairs: list[tuple[int, int]]):
    date_pairs = [(dates[i], dates[j]) for i, j in pairs]
    ids = [f"{a:%Y%m%d}_{b:%Y%m%d}" for a, b in date_pairs]
    return check_phase(phase, date_pairs, ids), ids


def patch_mask(row: int, col: int, rows: int, cols: int) -> np.ndarray:
    mask = np.zeros((ROWS, COLS), dtype=bool)
    mask[row:row + rows, col:col + cols] = True
    return mask


def found_mask(result) -> np.ndarray:
    out = np.zeros((ROWS, COLS), dtype=np.int8)
    for patch in result.patches:
        out[patch.full_mask(ROWS, COLS)] = patch.cycles
    return out


def test_one_patch_is_found_in_its_pair_and_corrected():
    dates, pairs = network(6, 3)
    phase = synthetic_phase(6, pairs)
    target = 4
    error = patch_mask(10, 20, 4, 4)  # 16 pixels, like the real Envisat error
    phase[target][error] += TWO_PI
    check, ids = run(phase, dates, pairs)
    for p, pair_id in enumerate(ids):
        result = check.pairs[pair_id]
        if p == target:
            assert result.verdict == "repaired"
            assert len(result.patches) == 1
            patch = result.patches[0]
            assert patch.cycles == 1 and patch.proposed == "correct"
            assert np.array_equal(patch.full_mask(ROWS, COLS), error)
            assert patch.support >= 2 and patch.confidence > 0.9
            assert "16 px at rows 10-13, cols 20-23, +1 cycle, corrected" in result.describe()
        else:
            assert result.verdict == "clean", (pair_id, result.describe())
    assert check.misclosed_count[error].min() >= 2
    assert check.misclosed_count[~error].max() == 0


def test_two_patches_and_two_cycles():
    dates, pairs = network(6, 3)
    phase = synthetic_phase(6, pairs, seed=1)
    first, second = patch_mask(5, 5, 3, 5), patch_mask(30, 40, 6, 6)
    phase[2][first] -= 2 * TWO_PI
    phase[2][second] += TWO_PI
    check, ids = run(phase, dates, pairs)
    found = found_mask(check.pairs[ids[2]])
    assert np.array_equal(found[first], np.full(first.sum(), -2))
    assert np.array_equal(found[second], np.ones(second.sum()))
    assert (found[~(first | second)] == 0).all()
    assert sum(check.pairs[p].verdict != "clean" for p in ids) == 1


def test_overlapping_patches_of_two_pairs_are_both_found():
    dates, pairs = network(7, 3)
    phase = synthetic_phase(7, pairs, seed=2)
    a, b = 3, 9
    overlap_a, overlap_b = patch_mask(20, 20, 6, 6), patch_mask(22, 22, 6, 6)
    phase[a][overlap_a] += TWO_PI
    phase[b][overlap_b] -= TWO_PI
    check, ids = run(phase, dates, pairs)
    assert np.array_equal(found_mask(check.pairs[ids[a]]) != 0, overlap_a)
    assert np.array_equal(found_mask(check.pairs[ids[b]]) != 0, overlap_b)
    assert found_mask(check.pairs[ids[b]])[overlap_b].min() == -1


def test_a_pair_in_no_triplet_is_unchecked_not_guessed():
    dates, pairs = network(5, 1)  # a chain: no closed triplet at all
    phase = synthetic_phase(5, pairs)
    phase[1][patch_mask(5, 5, 5, 5)] += TWO_PI
    check, _ = run(phase, dates, pairs)
    assert {r.verdict for r in check.pairs.values()} == {"unchecked"}
    assert check.n_checked == 0
    assert "0 of 4 pairs checked in 0 triplets" in check.summary()


def test_non_integer_misclosure_is_not_an_unwrapping_error():
    dates, pairs = network(6, 3)
    phase = synthetic_phase(6, pairs, seed=3)
    phase[4][patch_mask(10, 10, 8, 8)] += np.pi  # half a cycle: noise, not unwrapping
    phase[5][patch_mask(30, 30, 8, 8)] += 0.3 * TWO_PI
    check, _ = run(phase, dates, pairs)
    assert all(r.verdict == "clean" for r in check.pairs.values())


def test_noisy_pairs_are_not_repaired():
    dates, pairs = network(6, 3)
    phase = synthetic_phase(6, pairs, seed=4, noise=0.6)
    check, _ = run(phase, dates, pairs)
    assert all(r.verdict == "clean" for r in check.pairs.values())


def test_a_patch_touching_nodata_is_repaired_where_there_is_data():
    dates, pairs = network(6, 3)
    phase = synthetic_phase(6, pairs, seed=5)
    hole = patch_mask(0, 0, 12, 12)
    phase[:, hole] = np.nan
    error = patch_mask(8, 8, 8, 8) & ~hole
    phase[4][error] += TWO_PI
    check, ids = run(phase, dates, pairs)
    assert np.array_equal(found_mask(check.pairs[ids[4]]) != 0, error)


def test_errors_over_a_large_share_drop_the_pair():
    dates, pairs = network(6, 3)
    phase = synthetic_phase(6, pairs, seed=6)
    phase[4][patch_mask(0, 0, 24, 32)] += TWO_PI  # a quarter of the pair
    check, ids = run(phase, dates, pairs)
    assert check.pairs[ids[4]].verdict == "dropped"
    assert all(p.action == "ignore" for p in check.pairs[ids[4]].patches)
    assert sum(r.verdict != "clean" for r in check.pairs.values()) == 1


def as_stack(phase: np.ndarray, dates: list[date], pairs: list[tuple[int, int]]) -> Stack:
    return Stack(path="<test>", format_name="memory",
                 pairs=[Pair(dates[i], dates[j], 0.0) for i, j in pairs],
                 phase_sources=[ArraySource(a) for a in phase], coherence_sources=None,
                 grid=Grid(COLS, ROWS, (0.0, 1.0, 0.0, 0.0, 0.0, -1.0), ""),
                 wavelength_m=0.055)


def test_a_correction_that_makes_closure_worse_is_measured_as_such():
    dates, pairs = network(6, 3)
    phase = synthetic_phase(6, pairs, seed=7)
    error = patch_mask(10, 20, 5, 5)
    phase[4][error] += TWO_PI
    stack = as_stack(phase, dates, pairs)
    patch = check_closure(stack).pairs[stack.pair_ids[4]].patches[0]
    before, after = correction_effect(stack, 4, patch)
    assert before > 0 and after == 0
    wrong = type(patch)(**{**{f: getattr(patch, f) for f in patch.__dataclass_fields__},
                           "cycles": -1})
    before, after = correction_effect(stack, 4, wrong)
    assert after == 2 * before  # +1 cycle "corrected" by -1 is off by +2


@pytest.fixture(scope="module")
def etna_path():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real" / \
        "etna_envisat_kfts"
    if not path.is_dir():
        pytest.fail(f"real test data missing: {path}")
    return path


def test_real_mexico_city_closes_nothing_repaired(real_stack_path):
    from sbas_selector.core import open_stack

    check = check_closure(open_stack(real_stack_path))
    assert {r.verdict for r in check.pairs.values()} <= {"clean", "unchecked"}
    assert check.n_checked == 28  # two pairs are in no closed triplet
    assert not check.misclosed_count.any()


def test_real_etna_half_cycle_misclosures_are_not_repairs(etna_path):
    """Etna's triplets misclose by half a cycle to a cycle on isolated pixels next to NaN
    holes (see its README): counted per pixel, never repaired (no patch of 6 pixels)."""
    from sbas_selector.core import open_stack

    check = check_closure(open_stack(etna_path))
    assert check.n_checked == 211
    assert all(r.verdict in ("clean", "unchecked") for r in check.pairs.values())
    assert 0 < int(check.misclosed_count.sum()) < 100  # a few isolated pixels


def same_check(a, b) -> None:
    """Two closure checks say the same of every pair, patch and pixel."""
    from dataclasses import astuple

    assert a.pairs.keys() == b.pairs.keys()
    for pair_id, mine in a.pairs.items():
        theirs = b.pairs[pair_id]
        assert (mine.verdict, mine.triplets, mine.misclosed, mine.error_share) == (
            theirs.verdict, theirs.triplets, theirs.misclosed, theirs.error_share), pair_id
        assert len(mine.patches) == len(theirs.patches), pair_id
        for x, y in zip(mine.patches, theirs.patches):
            np.testing.assert_array_equal(x.mask, y.mask)
            assert [v for v in astuple(x) if not isinstance(v, np.ndarray)] == [
                v for v in astuple(y) if not isinstance(v, np.ndarray)]
    assert a.triplets == b.triplets
    np.testing.assert_array_equal(a.misclosed_count, b.misclosed_count)
    np.testing.assert_array_equal(a.triplet_count, b.triplet_count)
    np.testing.assert_array_equal(a.triplet_misclosed, b.triplet_misclosed)
    np.testing.assert_array_equal(a.triplet_valid, b.triplet_valid)
    assert (a.unexplained_pixels, a.notes) == (b.unexplained_pixels, b.notes)


def test_a_stack_beyond_the_memory_budget_is_streamed_with_the_same_results():
    """A frame's phase does not fit in memory: the check streams the pairs (a few at a time)
    and finds exactly what it finds with every pair in memory."""
    from sbas_selector.core.closure.phase_access import StreamedPhase
    from sbas_selector.core.simulation import SimulationConfig, simulate

    sim = simulate(SimulationConfig(seed=3, n_dates=16, rows=96, cols=96,
                                    small_error_fraction=0.6))
    stack = sim.to_stack()
    in_memory = check_closure(stack)
    assert any(r.verdict == "repaired" for r in in_memory.pairs.values())
    assert any(r.verdict == "dropped" for r in in_memory.pairs.values())
    pair_bytes = 96 * 96 * 4
    streamed = check_closure(stack, memory_gb=8 * pair_bytes / 2**30)  # 4 pairs cached
    same_check(in_memory, streamed)
    reads = StreamedPhase(stack, cache_bytes=4 * pair_bytes)
    assert reads.capacity == 4


def test_streamed_check_of_the_real_stack_is_the_in_memory_one(real_stack_path):
    from sbas_selector.core import open_stack

    stack = open_stack(real_stack_path)
    same_check(check_closure(stack), check_closure(stack, memory_gb=1e-6))
