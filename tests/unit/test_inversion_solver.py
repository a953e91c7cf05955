"""The SBAS solve against numpy.linalg.lstsq on synthetic networks (as dolphin tests it)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from sbas_selector.core.inversion import solver as solver_module
from sbas_selector.core.inversion.solver import (
    PatternCache,
    coherence_weights,
    design_matrix,
    interval_years,
    invert_pixels,
    linear_velocity,
    temporal_coherence,
    timeseries_from_velocity,
)


def _network(n_dates=8, max_span=3, seed=0):
    rng = np.random.default_rng(seed)
    dates = [date(2020, 1, 1) + timedelta(days=12 * k) for k in range(n_dates)]
    pairs = [(dates[i], dates[j]) for i in range(n_dates) for j in range(i + 1, n_dates)
             if j - i <= max_span]
    return dates, pairs, rng


def _truth(dates, pairs, n_pixels, rng):
    """Phase time series (first date 0), pair phases."""
    series = np.vstack([np.zeros(n_pixels), np.cumsum(rng.normal(0, 1, (len(dates) - 1,
                                                                          n_pixels)), axis=0)])
    index = {d: i for i, d in enumerate(dates)}
    phase = np.array([series[index[b]] - series[index[a]] for a, b in pairs])
    return series, phase


def test_design_matrix_rows_sum_to_pair_span():
    dates, pairs, _ = _network()
    matrix = design_matrix(dates, pairs)
    spans = [(b - a).days / 365.25 for a, b in pairs]
    np.testing.assert_allclose(matrix.sum(axis=1), spans, rtol=2e-3)


def test_connected_network_exact_and_equal_to_lstsq():
    dates, pairs, rng = _network()
    series, phase = _truth(dates, pairs, 50, rng)
    phase_noisy = phase + rng.normal(0, 0.1, phase.shape)
    matrix = design_matrix(dates, pairs)
    velocity, used = invert_pixels(matrix, phase_noisy)
    expected = np.linalg.lstsq(matrix, phase_noisy, rcond=None)[0]
    np.testing.assert_allclose(velocity, expected, atol=1e-9)
    assert (used == len(pairs)).all()
    exact, _ = invert_pixels(matrix, phase)
    np.testing.assert_allclose(timeseries_from_velocity(exact, interval_years(dates)), series,
                               atol=1e-9)


def test_disconnected_network_is_minimum_norm():
    dates, pairs, rng = _network(n_dates=6, max_span=1)
    pairs = [p for p in pairs if p != (dates[2], dates[3])]  # split into two pieces
    _, phase = _truth(dates, pairs, 10, rng)
    matrix = design_matrix(dates, pairs)
    velocity, _ = invert_pixels(matrix, phase)
    expected = np.linalg.lstsq(matrix, phase, rcond=None)[0]  # lstsq is minimum-norm too
    np.testing.assert_allclose(velocity, expected, atol=1e-9)
    np.testing.assert_allclose(velocity[2], 0.0, atol=1e-12)  # no data across the gap


def test_nodata_patterns_each_solved_with_their_own_pairs():
    dates, pairs, rng = _network(n_dates=10, max_span=4, seed=3)
    _, phase = _truth(dates, pairs, 400, rng)
    phase += rng.normal(0, 0.2, phase.shape)
    holes = rng.random(phase.shape) < 0.15
    phase_holes = np.where(holes, np.nan, phase)
    matrix = design_matrix(dates, pairs)
    velocity, used = invert_pixels(matrix, phase_holes, min_pairs=3)
    for pixel in range(0, 400, 37):
        rows = ~holes[:, pixel]
        expected = np.linalg.lstsq(matrix[rows], phase[rows, pixel], rcond=None)[0]
        # Per-pixel products run in float32: ~1e-7 relative, far below any phase noise.
        np.testing.assert_allclose(velocity[:, pixel], expected, rtol=2e-6, atol=1e-5)
        assert used[pixel] == rows.sum()



@pytest.mark.parametrize("banded", [True, False])
@pytest.mark.parametrize("outer_products", [True, False])
@pytest.mark.parametrize("split_network", [False, True])
@pytest.mark.parametrize("rows", ["intervals", "weighted"])
def test_every_route_for_missing_pairs_equals_minimum_norm_lstsq(split_network, outer_products,
                                                                 rows, banded, monkeypatch):
    """Pixels missing a few pairs (low-rank downdate), most pairs (per-pattern banded factor
    or dense solve, or inverse) and pairs whose loss splits the network (pseudo-inverse) all
    give lstsq's minimum-norm answer; with the whole network split, no downdate applies.
    Rows as SBAS makes them (a pair over its intervals) or scaled per pair (soft weights):
    the same."""
    if not outer_products:
        monkeypatch.setattr(solver_module, "OUTER_PRODUCTS_BYTES", 0)
    if not banded:
        monkeypatch.setattr(solver_module, "_band", lambda rows, n_intervals: 0)
    dates, pairs, rng = _network(n_dates=12, max_span=3, seed=11)
    if split_network:
        pairs = [(a, b) for a, b in pairs if not (a <= dates[5] < b)]
    n_pixels = 600
    _, phase = _truth(dates, pairs, n_pixels, rng)
    phase += rng.normal(0, 0.2, phase.shape)
    rate = np.linspace(0.0, 0.8, n_pixels)  # share of missing pairs grows across pixels
    holes = rng.random(phase.shape) < rate[None, :]
    holes[:len(pairs) // 2, -50:] = True  # many missing: the per-pattern route
    holes[[0, 1], :40] = True  # the first date cut off for these: a split pattern
    matrix = design_matrix(dates, pairs)
    if rows == "weighted":
        matrix *= rng.uniform(0.3, 1.0, (len(pairs), 1))
    velocity, used = invert_pixels(matrix, np.where(holes, np.nan, phase))
    _assert_minimum_norm(matrix, phase, holes, velocity, used, tolerance=1e-6)


@pytest.mark.parametrize("outer_products", [True, False])
def test_bridge_rows_equal_lstsq_of_the_stacked_system(outer_products, monkeypatch):
    """Rows that are no pair over its intervals (the gap bridge's regularisation) are never
    downdated; normal matrices from the table of outer products or, for large networks, one
    by one: the answer is lstsq's of the stacked system."""
    if not outer_products:
        monkeypatch.setattr(solver_module, "OUTER_PRODUCTS_BYTES", 0)
    dates, pairs, rng = _network(n_dates=12, max_span=3, seed=13)
    pairs = [(a, b) for a, b in pairs if not (a <= dates[5] < b)]  # split: the bridge joins
    _, phase = _truth(dates, pairs, 300, rng)
    phase += rng.normal(0, 0.2, phase.shape)
    holes = rng.random(phase.shape) < np.linspace(0.0, 0.7, 300)[None, :]
    holes[:len(pairs) // 2, -40:] = True
    matrix = design_matrix(dates, pairs)
    bridge = solver_module.bridge_rows(dates, 0.5, seasonal=False)
    solution, used = invert_pixels(matrix, np.where(holes, np.nan, phase), regularisation=bridge)
    stacked = np.vstack([np.hstack([matrix, np.zeros((len(pairs), 1))]), bridge])
    for pixel in range(300):
        rows = np.concatenate([~holes[:, pixel], np.ones(len(bridge), bool)])
        observed = np.concatenate([phase[:, pixel], np.zeros(len(bridge))])
        expected = np.linalg.lstsq(stacked[rows], observed[rows], rcond=None)[0]
        np.testing.assert_allclose(solution[:, pixel], expected, rtol=1e-6, atol=1e-6,
                                   err_msg=f"pixel {pixel}")
        assert used[pixel] == (~holes[:, pixel]).sum()


def test_interval_rows_rebuild_the_design():
    dates, pairs, rng = _network(n_dates=9, max_span=4, seed=5)
    matrix = design_matrix(dates, pairs) * rng.uniform(0.5, 1.0, (len(pairs), 1))
    rows = solver_module.IntervalRows.of(matrix)
    assert rows.structured.all()
    column = np.arange(matrix.shape[1])
    inside = (column >= rows.first[:, None]) & (column < rows.last[:, None])
    np.testing.assert_allclose(rows.scale[:, None] * inside * rows.weights, matrix, rtol=1e-12)
    bent = matrix.copy()
    bent[3, rows.first[3]] *= 1.5  # no longer one weight per interval
    assert not solver_module.IntervalRows.of(bent).structured[3]


def _noisy(n_dates, max_span, seed, n_pixels):
    """A network, its phase with 0.2 rad of noise, and no hole yet (set by the test)."""
    dates, pairs, rng = _network(n_dates=n_dates, max_span=max_span, seed=seed)
    _, phase = _truth(dates, pairs, n_pixels, rng)
    phase += rng.normal(0, 0.2, phase.shape)
    return dates, pairs, rng, phase, np.zeros(phase.shape, bool)


def _assert_minimum_norm(matrix, phase, holes, velocity, used, tolerance):
    """Every pixel equals lstsq's minimum-norm answer with its own pairs (NaN without)."""
    for pixel in range(phase.shape[1]):
        rows = ~holes[:, pixel]
        if not rows.any():
            assert np.isnan(velocity[:, pixel]).all()
            continue
        expected = np.linalg.lstsq(matrix[rows], phase[rows, pixel], rcond=None)[0]
        np.testing.assert_allclose(velocity[:, pixel], expected, rtol=tolerance,
                                   atol=tolerance,
                                   err_msg=f"pixel {pixel}, {(~rows).sum()} pairs missing")
        assert used[pixel] == rows.sum()


@pytest.mark.parametrize("gather_values", [0, 10**9])
@pytest.mark.parametrize("phase_dtype", [np.float64, np.float32])
def test_patterns_shared_by_many_pixels_equal_lstsq_and_reuse_their_inverses(phase_dtype,
                                                                             gather_values,
                                                                             monkeypatch):
    """Water and masks repeat one pattern of missing pairs over whole areas: connected, it
    is a downdate of the complete network with its k x k system inverted once; split, it is
    solved by one product with its pseudo-inverse (kept in the cache for the next chunk).
    Either gives lstsq's minimum-norm answer (a downdate's system solved with all its
    pixels as right-hand sides, or inverted and gathered per pixel); a second call with the
    cache filled gives the same numbers bit for bit."""
    monkeypatch.setattr(solver_module, "GATHER_VALUES", gather_values)
    dates, pairs, rng, phase, holes = _noisy(n_dates=12, max_span=3, seed=21, n_pixels=400)
    n_pixels = 400
    holes[[2, 5, 9], :100] = True  # a connected pattern of 100 pixels
    holes[[0, 1, 2], 100:180] = True  # the first date cut off: a split pattern of 80 pixels
    holes[len(pairs) // 2:, 180:230] = True  # more missing than unknowns: 50 pixels
    holes[:, 230:240] = True  # nothing left
    holes[:, 240:] = rng.random((len(pairs), n_pixels - 240)) < 0.3  # rare patterns
    matrix = design_matrix(dates, pairs)
    observed = np.where(holes, np.nan, phase).astype(phase_dtype)
    cache = PatternCache(1e8)
    velocity, used = invert_pixels(matrix, observed, cache=cache)
    _assert_minimum_norm(matrix, phase, holes, velocity, used,
                         tolerance=1e-6 if phase_dtype is np.float64 else 2e-4)
    split = PatternCache.keys(matrix, ~holes[:, [100]])
    assert all(cache.get(key) is not None for key in split)  # kept for the next chunk
    made = []  # patterns whose inverse is computed
    normal_inverses = solver_module._normal_inverses
    monkeypatch.setattr(solver_module, "_normal_inverses",
                        lambda design, patterns, *rest: made.append(patterns.shape[1])
                        or normal_inverses(design, patterns, *rest))
    again, _ = invert_pixels(matrix, observed, cache=cache)
    np.testing.assert_array_equal(again, velocity)
    assert sum(made) == 0  # every inverse came from the cache
    fresh, _ = invert_pixels(matrix, observed)
    np.testing.assert_array_equal(fresh, velocity)
    assert sum(made) > 0  # without it, they are made again


@pytest.mark.parametrize("shared_from", [2, 4, 10**9])
def test_downdates_of_patterns_shared_by_a_few_pixels_equal_lstsq(shared_from, monkeypatch):
    """Pixels missing the same few pairs (2, 3, 4 and 6 of them share a pattern): their k x k
    downdate systems solved for each pixel or inverted once for the pattern give lstsq's
    answer either way."""
    monkeypatch.setattr(solver_module, "SHARED_SYSTEM_MEMBERS", shared_from)
    dates, pairs, rng, phase, holes = _noisy(n_dates=12, max_span=3, seed=23, n_pixels=40)
    column = 0
    for members in (1, 2, 3, 4, 6, 1):
        holes[rng.choice(len(pairs), 2, replace=False), column:column + members] = True
        column += members
    matrix = design_matrix(dates, pairs)
    downdated = []
    downdate = solver_module._downdate_solve
    monkeypatch.setattr(solver_module, "_downdate_solve",
                        lambda network, start, *rest: downdated.append(len(start))
                        or downdate(network, start, *rest))
    velocity, used = invert_pixels(matrix, np.where(holes, np.nan, phase))
    # Every pixel missing pairs as a downdate (never inverted for a pattern: those of 4 and 6
    # pixels cost less solved by pattern, and the route says so).
    assert downdated == [column] if shared_from <= 4 else downdated[0] >= 7
    _assert_minimum_norm(matrix, phase, holes, velocity, used, tolerance=1e-8)


def test_downdate_scattered_in_parts_of_pixels_equals_the_whole(monkeypatch):
    """The downdate's sums are scattered a few pixels at a time (:data:`SCATTER_PIXELS`):
    parts of 1 and 3 pixels give what one part of them all gives (to the last bits: BLAS sums
    a product of one row in another order than one of many), and that is lstsq's answer."""
    dates, pairs, rng, phase, holes = _noisy(n_dates=12, max_span=3, seed=29, n_pixels=50)
    for pixel in range(50):  # one to three missing pairs each, rarely the same ones
        holes[rng.choice(len(pairs), 1 + pixel % 3, replace=False), pixel] = True
    matrix = design_matrix(dates, pairs)
    observed = np.where(holes, np.nan, phase)
    downdated = []
    downdate = solver_module._downdate_solve
    monkeypatch.setattr(solver_module, "_downdate_solve",
                        lambda network, start, *rest: downdated.append(len(start))
                        or downdate(network, start, *rest))
    answers = []
    for part in (10**6, 1, 3):
        monkeypatch.setattr(solver_module, "SCATTER_PIXELS", part)
        answers.append(invert_pixels(matrix, observed))
    assert downdated == [50, 50, 50]  # every pixel, each time, as a downdate
    for velocity, used in answers[1:]:
        np.testing.assert_allclose(velocity, answers[0][0], rtol=1e-13, atol=1e-13)
        np.testing.assert_array_equal(used, answers[0][1])
    _assert_minimum_norm(matrix, phase, holes, *answers[0], tolerance=1e-8)


def test_min_pairs_leaves_pixels_nan():
    dates, pairs, rng = _network(n_dates=5, max_span=2)
    _, phase = _truth(dates, pairs, 3, rng)
    phase[1:, 0] = np.nan  # pixel 0 has one pair
    velocity, used = invert_pixels(design_matrix(dates, pairs), phase, min_pairs=2)
    assert np.isnan(velocity[:, 0]).all() and np.isfinite(velocity[:, 1:]).all()
    assert used[0] == 1


def test_weighted_equals_weighted_lstsq():
    """Weighted, pixels whose valid pairs connect every date (solved directly) and pixels
    whose missing pairs cut a date off (minimum-norm pseudo-inverse): weighted lstsq."""
    dates, pairs, rng = _network(n_dates=7, max_span=3, seed=5)
    _, phase = _truth(dates, pairs, 20, rng)
    phase += rng.normal(0, 0.3, phase.shape)
    weights = coherence_weights(rng.uniform(0.2, 0.9, phase.shape), looks=20)
    first = [k for k, (a, _) in enumerate(pairs) if a == dates[0]]
    phase[first, 15:] = np.nan  # the first date cut off for the last five pixels
    matrix = design_matrix(dates, pairs)
    velocity, _ = invert_pixels(matrix, phase, weights)
    for pixel in range(20):
        rows = np.isfinite(phase[:, pixel])
        root = np.sqrt(weights[rows, pixel])
        expected = np.linalg.lstsq(matrix[rows] * root[:, None], phase[rows, pixel] * root,
                                   rcond=None)[0]
        np.testing.assert_allclose(velocity[:, pixel], expected, atol=1e-8)
    np.testing.assert_allclose(velocity[0, 15:], 0.0, atol=1e-12)


def test_linear_velocity_and_temporal_coherence():
    years = np.linspace(2020, 2021, 13)
    series = np.outer(years - 2020, [3.0, -5.0])
    rate, rate_std = linear_velocity(series, years)
    np.testing.assert_allclose(rate, [3.0, -5.0])
    np.testing.assert_allclose(rate_std, 0.0, atol=1e-12)
    dates, pairs, rng = _network()
    _, phase = _truth(dates, pairs, 5, rng)
    matrix = design_matrix(dates, pairs)
    velocity, _ = invert_pixels(matrix, phase)
    coherence, rms = temporal_coherence(matrix, velocity, phase)
    np.testing.assert_allclose(coherence, 1.0)
    np.testing.assert_allclose(rms, 0.0, atol=1e-6)  # residuals in float32, as the rasters
    bad = phase.copy()
    bad[0] += 2 * np.pi * 0.25
    velocity, _ = invert_pixels(matrix, bad)
    assert (temporal_coherence(matrix, velocity, bad)[0] < 1.0).all()


@pytest.mark.parametrize("looks", [5.0, 50.0])
def test_coherence_weights_grow_with_coherence(looks):
    w = coherence_weights(np.array([0.2, 0.5, 0.9]), looks)
    assert w[0] < w[1] < w[2]


def test_date_components_largest_piece_first():
    from sbas_selector.core.inversion.network import date_components

    d = [date(2020, 1, 1) + timedelta(days=12 * k) for k in range(7)]
    pairs = [(d[0], d[1]), (d[1], d[2]), (d[0], d[2]), (d[4], d[5]), (d[3], d[5])]
    assert date_components(d, pairs) == [[d[0], d[1], d[2]], [d[3], d[4], d[5]], [d[6]]]
    assert date_components(d[:3], pairs[:2]) == [d[:3]]
    assert date_components([], []) == []


def test_robust_refit_discounts_a_pair_that_disagrees():
    from sbas_selector.core.inversion.solver import robust_refit

    dates, pairs, rng = _network(n_dates=10, max_span=4, seed=7)
    series, phase = _truth(dates, pairs, 200, rng)
    phase = phase + rng.normal(0, 0.05, phase.shape)
    bad = phase.copy()
    bad[5] += 3.0  # one pair off by 3 rad everywhere (strong atmosphere kept by mistake)
    matrix = design_matrix(dates, pairs)
    plain, _ = invert_pixels(matrix, bad)
    robust = robust_refit(matrix, bad, None, plain, 1, 16384)
    years = interval_years(dates)

    def error(velocity):
        return np.sqrt(np.mean((timeseries_from_velocity(velocity, years) - series) ** 2))

    assert error(robust) < 0.25 * error(plain)
    assert error(robust) < 0.1  # rad: back near the noise
    clean, _ = invert_pixels(matrix, phase)  # without an outlier it changes next to nothing
    refit = robust_refit(matrix, phase, None, clean, 1, 16384)
    assert abs(error(refit) - error(clean)) < 0.02


def test_connected_agrees_with_union_find_on_random_networks(monkeypatch):
    """Which patterns of valid pairs connect every date, against a plain union-find: whether
    decided at once (every date reached from an earlier one, or left to a later one) or by
    following labels (connected and split patterns both go that way here). Pairs of the
    same two dates count as one where either is valid (labels had let the missing one undo
    the valid one's)."""
    followed = []
    by_labels = solver_module._connected_by_labels
    monkeypatch.setattr(solver_module, "_connected_by_labels",
                        lambda *args: followed.append(by_labels(*args)) or followed[-1])
    rng = np.random.default_rng(1)
    for _ in range(30):
        n_dates = int(rng.integers(3, 15))
        dates = [date(2020, 1, 1) + timedelta(days=12 * k) for k in range(n_dates)]
        pairs = [(dates[i], dates[j]) for i in range(n_dates) for j in range(i + 1, n_dates)
                 if j == i + 1 or rng.random() < 0.4]
        pairs += pairs[::3]  # the same two dates in two pairs: either may be missing
        patterns = rng.random((len(pairs), 100)) < rng.uniform(0.3, 0.95)
        index = {d: k for k, d in enumerate(dates)}
        expected = []
        for pattern in patterns.T:
            parent = list(range(n_dates))

            def root(node, parent=parent):
                while parent[node] != node:
                    node = parent[node]
                return node

            for p in np.flatnonzero(pattern):
                parent[root(index[pairs[p][0]])] = root(index[pairs[p][1]])
            expected.append(len({root(node) for node in range(n_dates)}) == 1)
        found = solver_module._connected(design_matrix(dates, pairs), patterns)
        np.testing.assert_array_equal(found, expected)
    labelled = np.concatenate(followed)
    assert labelled.any() and not labelled.all()  # some followed patterns connect, some not
    assert labelled.size < 30 * 100  # the others were decided at once


@pytest.mark.parametrize("given", [False, True])
@pytest.mark.parametrize("columns", [2048, 128])
@pytest.mark.parametrize("rows", ["intervals", "other"])
def test_temporal_coherence_equals_its_definition(rows, columns, given, monkeypatch):
    """|mean of exp(i r)| and RMS of r over each pixel's valid pairs, r = phase - A v: from
    the time series' dates where every row is a pair over its intervals, else the product;
    in one part or in several (the last one shorter); from the caller's time series (in mm)
    and valid-pair counts where given (ignored where the design's rows are not its spans)."""
    monkeypatch.setattr(solver_module, "COHERENCE_COLUMNS", columns)
    dates, pairs, rng = _network(n_dates=9, max_span=3, seed=9)
    matrix = design_matrix(dates, pairs)
    if rows == "other":
        matrix = matrix * rng.uniform(0.8, 1.2, matrix.shape)
    velocity = rng.normal(0, 2, (matrix.shape[1], 300))
    velocity[:, :5] = np.nan  # unsolved
    phase = matrix @ np.nan_to_num(velocity) + rng.normal(0, 0.5, (len(pairs), 300))
    phase[rng.random(phase.shape) < 0.2] = np.nan
    extra = {}
    if given:
        spans = interval_years(dates)
        extra = {"series": timeseries_from_velocity(velocity, spans, -55.5, np.float32),
                 "spans": spans, "per_radian": -55.5,
                 "n_valid": np.isfinite(phase).sum(axis=0)}
    coherence, rms = temporal_coherence(matrix, velocity, phase.astype(np.float32), **extra)
    residual = (phase - matrix @ np.nan_to_num(velocity))[:, 5:]
    valid = np.isfinite(residual)
    expected = np.abs(np.where(valid, np.exp(1j * np.nan_to_num(residual)), 0).sum(0)
                      ) / valid.sum(0)
    np.testing.assert_allclose(coherence[5:], expected, atol=1e-5)
    np.testing.assert_allclose(rms[5:], np.sqrt(np.nanmean(residual**2, axis=0)), rtol=1e-5)
    assert np.isnan(coherence[:5]).all() and np.isnan(rms[:5]).all()
    if given and rows == "intervals":  # the caller's series is what is used
        extra["series"] = np.zeros_like(extra["series"])
        assert not np.allclose(temporal_coherence(matrix, velocity, phase.astype(np.float32),
                                                  **extra)[1][5:], rms[5:])


def test_timeseries_from_velocity_is_the_running_sum_of_velocity_times_interval():
    """Row by row, into a new array or a given one (float32, scaled)."""
    rng = np.random.default_rng(4)
    velocity, intervals = rng.normal(size=(7, 33)), rng.uniform(0.03, 0.1, 7)
    expected = np.vstack([np.zeros(33), np.cumsum(velocity * intervals[:, None], axis=0)])
    np.testing.assert_allclose(timeseries_from_velocity(velocity, intervals), expected,
                               rtol=1e-12, atol=1e-12)
    out = np.full((8, 40), np.nan, np.float32)[:, :33]
    written = timeseries_from_velocity(velocity, intervals, 2.0, np.float32, out=out)
    assert written is out
    np.testing.assert_allclose(out, 2.0 * expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("batch", [256, 3])
@pytest.mark.parametrize("banded", [True, False])
@pytest.mark.parametrize("invert_members", [1, 10**9])
def test_patterns_solved_by_their_normal_systems_equal_lstsq(invert_members, banded, batch,
                                                             monkeypatch):
    """Every pixel missing pairs solved with its pattern of valid pairs (no downdate): a
    connected pattern of a few pixels by its banded factor (in batches of patterns) or by
    one dense solve with its pixels as right-hand sides (batched with the patterns of as
    many pixels), one of many pixels or a split one by its (pseudo-)inverse; each equals
    lstsq's minimum-norm answer."""
    monkeypatch.setattr(solver_module, "_downdate_cheaper",
                        lambda missing, *rest: np.zeros(missing.shape, bool))
    monkeypatch.setattr(solver_module, "INVERT_MEMBERS", invert_members)
    monkeypatch.setattr(solver_module, "BATCH_PATTERNS", batch)
    if not banded:
        monkeypatch.setattr(solver_module, "_band", lambda rows, n_intervals: 0)
    dates, pairs, rng, phase, holes = _noisy(n_dates=10, max_span=4, seed=33, n_pixels=120)
    n_pixels = 120
    column = 0
    for members in (1, 1, 2, 2, 2, 3, 5):  # patterns of 1, 2, 3 and 5 pixels
        holes[rng.choice(len(pairs), 4, replace=False), column:column + members] = True
        column += members
    holes[[0, 1, 2, 3], column:column + 3] = True  # the first date cut off: split
    holes[:, column + 3:] = rng.random((len(pairs), n_pixels - column - 3)) < 0.15
    matrix = design_matrix(dates, pairs)
    observed = np.where(holes, np.nan, phase)
    velocity, used = invert_pixels(matrix, observed, cache=PatternCache(1e8))
    _assert_minimum_norm(matrix, phase, holes, velocity, used, tolerance=1e-6)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_masked_copy_is_where_with_zero(dtype):
    """The values where kept, +0 elsewhere (NaN, infinities, -0 and the rest), bit for bit,
    into another array or in place, through strided views too; and a solve of phase in a
    type other than float32 and float64 (copied first) equals the float64 one."""
    rng = np.random.default_rng(6)
    values = rng.normal(0, 3, (7, 40)).astype(dtype)
    values[0, :4] = [np.nan, np.inf, -np.inf, -0.0]
    keep = rng.random(values.shape) < 0.6
    keep[0, :4] = [False, True, False, True]
    expected = np.where(keep, values, dtype(0))
    out = np.full((7, 80), np.nan, dtype)[:, ::2]
    solver_module._masked_copy(values, keep, out)
    np.testing.assert_array_equal(out.view(f"u{out.itemsize}"),
                                  expected.view(f"u{out.itemsize}"))
    solver_module._masked_copy(values[:, ::3], keep[:, ::3], values[:, ::3])
    np.testing.assert_array_equal(values[:, ::3], expected[:, ::3])
    dates, pairs, rng = _network(n_dates=8, max_span=3, seed=2)
    _, phase = _truth(dates, pairs, 60, rng)
    phase[rng.random(phase.shape) < 0.2] = np.nan
    matrix = design_matrix(dates, pairs)
    half, _ = invert_pixels(matrix, phase.astype(np.float16))
    full, _ = invert_pixels(matrix, phase.astype(np.float16).astype(np.float64))
    np.testing.assert_allclose(half, full, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("phase_dtype", [np.float32, np.float64])
def test_start_made_part_by_part_equals_one_part(phase_dtype, monkeypatch):
    """Validity, zeroed phase and x0 made a part of the pixels at a time (the last part
    shorter; parts with most pixels valid in every pair and parts with most missing some):
    the same answers and valid-pair counts as in one part, each lstsq's."""
    dates, pairs, rng = _network(n_dates=10, max_span=3, seed=21)
    _, phase = _truth(dates, pairs, 700, rng)
    phase += rng.normal(0, 0.2, phase.shape)
    holes = rng.random(phase.shape) < np.linspace(0.0, 0.5, 700)[None, :]
    holes[:, :80] = False  # the first part: 80 of its 96 pixels valid in every pair
    holes[:, 650:660] = True  # nothing left
    matrix = design_matrix(dates, pairs)
    observed = np.where(holes, np.nan, phase).astype(phase_dtype)
    whole, used = invert_pixels(matrix, observed)
    monkeypatch.setattr(solver_module, "X0_COLUMNS", 96)  # 700 = 7 x 96 + 28
    parts, used_parts = invert_pixels(matrix, observed)
    np.testing.assert_array_equal(used_parts, used)
    np.testing.assert_allclose(parts, whole, rtol=1e-6, atol=1e-6)
    _assert_minimum_norm(matrix, phase, holes, parts, used_parts,
                         tolerance=1e-6 if phase_dtype is np.float64 else 2e-4)


def test_signature_remembered_only_for_designs_nothing_can_change():
    """A read-only design that owns its values is hashed once; a writable one (or a view,
    whose base may change) each time, so an edited design gets a new key."""
    dates, pairs, _ = _network()
    matrix = design_matrix(dates, pairs)
    before = PatternCache.signature(matrix)
    matrix[0, 0] += 1.0
    edited = PatternCache.signature(matrix)
    assert edited != before
    matrix.flags.writeable = False
    first = PatternCache.signature(matrix)
    assert first == edited
    assert PatternCache.signature(matrix) is first  # remembered
    base = design_matrix(dates, pairs)
    view = base[:]
    view.flags.writeable = False
    seen = PatternCache.signature(view)
    base[0, 0] += 1.0  # changes the view's values through its base
    assert PatternCache.signature(view) != seen


@pytest.mark.parametrize("repeated", [False, True])
def test_normal_matrices_over_the_dates_map_to_the_intervals(repeated):
    """A pattern's normal matrix over the dates after the first (a weighted graph Laplacian
    built by scatter) is ``T^-T A_k^T A_k T^-1`` with ``T`` the running sum to the time series;
    right-hand sides and answers map to and from the intervals. Pair-scaled rows, and a pair
    listed twice (its weights add), too."""
    dates, pairs, rng = _network(n_dates=9, max_span=3, seed=8)
    if repeated:
        pairs = [*pairs, pairs[3], pairs[0]]
    matrix = design_matrix(dates, pairs) * rng.uniform(0.5, 1.5, len(pairs))[:, None]
    rows = solver_module.IntervalRows.of(matrix)
    assert rows.structured.all()
    patterns = rng.random((len(pairs), 6)) < 0.75
    n = matrix.shape[1]
    running = np.tril(np.ones((n, n))) * rows.weights[None, :]  # s = T x
    normals = solver_module._date_normals(rows, patterns)
    for pattern, normal in zip(patterns.T, normals):
        np.testing.assert_allclose(running.T @ normal @ running,
                                   matrix[pattern].T @ matrix[pattern], rtol=1e-12, atol=1e-12)
    rhs = rng.normal(size=(n, 4))
    np.testing.assert_allclose(running.T @ solver_module._dates_rhs(rows, rhs), rhs,
                               rtol=1e-12, atol=1e-12)
    series = rng.normal(size=(n, 4))
    np.testing.assert_allclose(running @ solver_module._intervals_of(rows, series), series,
                               rtol=1e-12, atol=1e-12)
    # The whole solve with the repeated pair: lstsq's answer, through every route.
    _, phase = _truth(dates, pairs, 200, rng)
    phase += rng.normal(0, 0.2, phase.shape)
    holes = rng.random(phase.shape) < np.linspace(0.0, 0.6, 200)[None, :]
    velocity, used = invert_pixels(matrix, np.where(holes, np.nan, phase))
    _assert_minimum_norm(matrix, phase, holes, velocity, used, tolerance=1e-6)


@pytest.mark.parametrize("table_bytes", [0, 2**25])
def test_normal_matrices_of_patterns(table_bytes, monkeypatch):
    """From the kept table of outer products' upper triangles, or one product per pattern
    where it would not fit: A_k^T A_k of each pattern's valid rows, pair-scaled rows too."""
    monkeypatch.setattr(solver_module, "OUTER_PRODUCTS_BYTES", table_bytes)
    dates, pairs, rng = _network(n_dates=9, max_span=3, seed=4)
    matrix = design_matrix(dates, pairs) * rng.uniform(0.5, 1.5, len(pairs))[:, None]
    patterns = rng.random((len(pairs), 7)) < 0.7
    expected = np.stack([matrix[k].T @ matrix[k] for k in patterns.T])
    np.testing.assert_allclose(solver_module._normal_matrices(matrix, patterns), expected,
                               rtol=1e-12, atol=1e-12)
    cache = PatternCache(1e8)  # the table made once per run
    np.testing.assert_allclose(solver_module._normal_matrices(matrix, patterns, cache),
                               expected, rtol=1e-12, atol=1e-12)
    if table_bytes:
        assert cache.outer_products(matrix) is cache.outer_products(matrix)
    small = PatternCache(1000)  # no room for it: made again each time, same values
    assert small.outer_products(matrix) is not small.outer_products(matrix)
    np.testing.assert_allclose(solver_module._normal_matrices(matrix, patterns, small),
                               expected, rtol=1e-12, atol=1e-12)
