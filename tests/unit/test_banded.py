"""Banded Cholesky factors of patterns' normal matrices over the dates, against dense
solves, and their zero pivots against a union-find of the dates."""

from __future__ import annotations

import numpy as np
import pytest

from sbas_selector.core.inversion.banded import BandedLaplacians, bandwidth


def _pairs(n_dates, max_span, rng, repeated=False):
    first, last = [], []
    for i in range(n_dates):
        for j in range(i + 1, min(n_dates, i + max_span + 1)):
            if j == i + 1 or rng.random() < 0.6:
                first.append(i)
                last.append(j)
    if repeated:  # the same two dates in two pairs (a pair processed twice)
        first += [first[-1], first[0]]
        last += [last[-1], last[0]]
    return np.array(first), np.array(last)


def _laplacian(first, last, weights):
    """Dense normal matrix over the dates 1 .. n of one pattern (``weights`` per pair)."""
    n = int(last.max())
    full = np.zeros((n + 1, n + 1))
    for f, ell, w in zip(first, last, weights):
        full[f, f] += w
        full[ell, ell] += w
        full[f, ell] -= w
        full[ell, f] -= w
    return full[1:, 1:]


def _joined_to_first(first, last, valid, n_dates):
    parent = list(range(n_dates))

    def root(node):
        while parent[node] != node:
            node = parent[node]
        return node

    for f, ell in zip(first[valid], last[valid]):
        parent[root(f)] = root(ell)
    return all(root(node) == root(0) for node in range(n_dates))


@pytest.mark.parametrize("repeated", [False, True])
@pytest.mark.parametrize("n_dates,max_span", [(2, 1), (9, 2), (25, 4), (40, 7)])
def test_factors_solve_like_a_dense_solve_and_pivots_find_split_patterns(n_dates, max_span,
                                                                         repeated):
    """Each pattern's answer equals numpy's dense solve of its normal matrix (pairs with
    their own scales, the same two dates in two pairs); a pattern whose pairs leave some
    date unjoined to the first date (isolated dates, a piece on its own) is reported split,
    and only those."""
    rng = np.random.default_rng(n_dates + max_span + repeated)
    first, last = _pairs(n_dates, max_span, rng, repeated)
    assert bandwidth(first, last) <= max_span
    scale = rng.uniform(0.3, 2.0, first.size)
    n_patterns = 300
    valid = rng.random((first.size, n_patterns)) < rng.uniform(0.2, 1.0, n_patterns)
    valid[:, 0] = True
    valid[last == n_dates - 1, 1] = False  # the last date isolated
    cut = (first < n_dates // 2) & (last >= n_dates // 2)
    valid[cut, 2] = False  # two pieces
    rhs = rng.normal(size=(n_dates - 1, n_patterns))
    factors = BandedLaplacians(first, last, scale, valid)
    answers = factors.solve(rhs.copy())
    for k in range(n_patterns):
        joined = _joined_to_first(first, last, valid[:, k], n_dates)
        assert factors.ok[k] == joined, k
        if joined:
            expected = np.linalg.solve(_laplacian(first, last, scale**2 * valid[:, k]), rhs[:, k])
            np.testing.assert_allclose(answers[:, k], expected, rtol=1e-9, atol=1e-9)
    assert factors.ok[0] and not factors.ok[1] and not factors.ok[2]


def test_right_hand_sides_share_their_pattern_factor():
    """Several right-hand sides per pattern (``which``) give each one's own solve."""
    rng = np.random.default_rng(4)
    first, last = _pairs(15, 3, rng)
    valid = rng.random((first.size, 5)) < 0.9
    valid[last == 1, :] = True  # keep the second date joined in every pattern
    which = np.array([0, 0, 1, 2, 2, 2, 4, 3, 0])
    rhs = rng.normal(size=(14, which.size))
    factors = BandedLaplacians(first, last, np.ones(first.size), valid)
    shared = factors.solve(rhs.copy(), which)
    alone = BandedLaplacians(first, last, np.ones(first.size), valid[:, which]).solve(rhs.copy())
    np.testing.assert_allclose(shared[:, factors.ok[which]], alone[:, factors.ok[which]],
                               rtol=1e-12, atol=1e-12)
