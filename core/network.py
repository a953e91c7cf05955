"""Health of the interferogram network: pieces, bridges, cut-off dates, gaps, redundancy,
a maximum-coherence spanning tree, baseline pre-selection, and loop-closure evidence.

Graph work is done by ``scipy.sparse.csgraph``; nothing here reads settings or draws.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

from .stack import Stack


def _components(n_dates: int, edges: list[tuple[int, int]]) -> tuple[int, np.ndarray]:
    if not edges:
        return n_dates, np.arange(n_dates)
    rows, cols = zip(*edges)
    graph = coo_matrix((np.ones(len(edges)), (rows, cols)), shape=(n_dates, n_dates))
    return connected_components(graph, directed=False)


@dataclass(frozen=True)
class NetworkHealth:
    """What the kept pairs make of the network.

    Attributes
    ----------
    pieces
        Connected pieces of dates (largest first); one piece is a healthy network.
    isolated_dates
        Dates with no kept pair at all.
    bridges
        Indices of kept pairs whose drop would split the network.
    cut_off_by_drop
        For each bridge, the dates its drop would cut off from the main piece.
    redundancy
        Kept pairs per date, in date order.
    temporal_gaps
        (date, next date) intervals that no kept pair spans.
    spanning_tree
        Indices of the pairs of a maximum-coherence spanning tree of all pairs.
    """

    dates: tuple[date, ...]
    pieces: tuple[tuple[date, ...], ...]
    isolated_dates: tuple[date, ...]
    bridges: tuple[int, ...]
    cut_off_by_drop: dict[int, tuple[date, ...]] = field(default_factory=dict)
    redundancy: tuple[int, ...] = ()
    temporal_gaps: tuple[tuple[date, date], ...] = ()
    spanning_tree: tuple[int, ...] = ()

    @property
    def connected(self) -> bool:
        return len(self.pieces) == 1


def network_health(pairs: list[tuple[date, date]], keep: np.ndarray,
                   coherence: np.ndarray | None = None) -> NetworkHealth:
    """Assess the network of kept pairs.

    Parameters
    ----------
    pairs
        (date1, date2) of every pair, length n_pairs.
    keep
        Kept (True) or dropped, shape (n_pairs,).
    coherence
        Mean coherence per pair, shape (n_pairs,), for the spanning tree (uniform if None).
    """
    dates = sorted({d for pair in pairs for d in pair})
    index = {d: i for i, d in enumerate(dates)}
    edges = [(index[a], index[b]) for a, b in pairs]
    kept = [p for p in range(len(pairs)) if keep[p]]
    kept_edges = [edges[p] for p in kept]
    degree = np.zeros(len(dates), dtype=int)
    for i, j in kept_edges:
        degree[i] += 1
        degree[j] += 1
    n_pieces, labels = _components(len(dates), kept_edges)
    pieces = sorted((tuple(d for d, label in zip(dates, labels) if label == k)
                     for k in range(n_pieces)), key=lambda piece: (-len(piece), piece[0]))
    main = set(pieces[0]) if pieces else set()
    bridges, cut_off = _bridges(dates, edges, kept, main)
    gaps = _temporal_gaps(dates, kept_edges)
    weights = np.ones(len(pairs)) if coherence is None else np.asarray(coherence, float)
    # Maximum coherence = minimum of (2 - coherence): strictly positive weights for scipy.
    if edges:
        rows, cols = zip(*edges)
        graph = coo_matrix((2.0 - weights, (rows, cols)), shape=(len(dates), len(dates)))
        tree = minimum_spanning_tree(graph).tocoo()
        in_tree = {(int(r), int(c)) for r, c in zip(tree.row, tree.col)}
        spanning = tuple(p for p, edge in enumerate(edges) if edge in in_tree)
    else:
        spanning = ()
    return NetworkHealth(
        dates=tuple(dates),
        pieces=tuple(pieces),
        isolated_dates=tuple(d for d, k in zip(dates, degree) if k == 0),
        bridges=tuple(bridges),
        cut_off_by_drop=cut_off,
        redundancy=tuple(int(k) for k in degree),
        temporal_gaps=tuple(gaps),
        spanning_tree=spanning,
    )


def _bridges(dates: list[date], edges: list[tuple[int, int]], kept: list[int],
             main: set[date]) -> tuple[list[int], dict[int, tuple[date, ...]]]:
    """The kept pairs whose drop splits a piece of the network (ascending), and for each the
    dates it cuts off: of the two sides, the one with fewer dates of the main piece (on a
    tie, the side of the pair's second date).

    One depth-first search over the kept pairs (Tarjan's bridges): linear in dates and pairs,
    where dropping each pair in turn and counting the pieces again was quadratic in pairs.
    """
    n = len(dates)
    neighbours: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for p in kept:
        i, j = edges[p]
        neighbours[i].append((j, p))
        neighbours[j].append((i, p))
    order = [-1] * n  # discovery order
    low = [0] * n
    parent_pair = [-1] * n
    visit: list[int] = []  # nodes in discovery order: a subtree is a contiguous run
    end = [0] * n  # one past the subtree's last position in ``visit``
    root_of = [0] * n
    found: list[tuple[int, int]] = []  # (pair, child node)
    for root in range(n):
        if order[root] >= 0:
            continue
        order[root] = low[root] = len(visit)
        visit.append(root)
        root_of[root] = root
        stack = [(root, iter(neighbours[root]))]
        while stack:
            node, it = stack[-1]
            advanced = False
            for other, p in it:
                if p == parent_pair[node]:
                    continue
                if order[other] < 0:
                    order[other] = low[other] = len(visit)
                    visit.append(other)
                    parent_pair[other] = p
                    root_of[other] = root
                    stack.append((other, iter(neighbours[other])))
                    advanced = True
                    break
                low[node] = min(low[node], order[other])
            if advanced:
                continue
            stack.pop()
            end[node] = len(visit)
            if stack:
                up = stack[-1][0]
                low[up] = min(low[up], low[node])
                if low[node] > order[up]:
                    found.append((parent_pair[node], node))
    cut_off: dict[int, tuple[date, ...]] = {}
    for p, child in found:
        below = {dates[k] for k in visit[order[child]:end[child]]}
        root = root_of[child]
        piece = {dates[k] for k in visit[order[root]:end[root]]}
        i, j = edges[p]
        i_side, j_side = (below, piece - below) if i == child else (piece - below, below)
        cut_off[p] = tuple(sorted(i_side if len(i_side & main) < len(j_side & main)
                                  else j_side))
    return sorted(cut_off), {p: cut_off[p] for p in sorted(cut_off)}


def _temporal_gaps(dates: list[date], kept_edges: list[tuple[int, int]]
                   ) -> list[tuple[date, date]]:
    """(date, next date) intervals that no kept pair spans (a pair (i, j), i < j, spans the
    intervals i .. j - 1)."""
    spanning = np.zeros(len(dates) + 1, dtype=int)
    for i, j in kept_edges:
        if i < j:
            spanning[i] += 1
            spanning[j] -= 1
    covered = np.cumsum(spanning)[:max(len(dates) - 1, 0)]
    return [(dates[k], dates[k + 1]) for k in np.flatnonzero(covered == 0)]


def select_by_baseline(stack: Stack, max_days: float | None = None,
                       max_bperp_m: float | None = None) -> np.ndarray:
    """The paper's pre-selection: keep pairs within both thresholds.

    Returns
    -------
    numpy.ndarray
        Keep mask, bool, shape (n_pairs,).
    """
    keep = np.ones(stack.n_pairs, dtype=bool)
    if max_days is not None:
        keep &= stack.days <= max_days
    if max_bperp_m is not None:
        keep &= np.abs(stack.bperp_m) <= max_bperp_m
    return keep


@dataclass(frozen=True)
class ClosureEvidence:
    """Triplet loop-closure statistics per pair (evidence of unwrapping errors).

    Attributes
    ----------
    triplets
        Closed triplets each pair is in, shape (n_pairs,).
    misclosed
        Of those, how many misclose by whole cycles over a patch or more, shape (n_pairs,).
    triplet_pairs
        Pair indices (ij, jk, ik) of each closed triplet.
    triplet_misclosure
        Share of valid pixels misclosed by an integer cycle, per triplet.
    """

    triplets: np.ndarray
    misclosed: np.ndarray
    triplet_pairs: tuple[tuple[int, int, int], ...]
    triplet_misclosure: np.ndarray

    @property
    def misclosed_share(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.triplets > 0, self.misclosed / self.triplets, np.nan)


def closed_triplets(pairs: list[tuple[date, date]]) -> list[tuple[int, int, int]]:
    """Indices (ij, jk, ik) of every closed triplet of pairs."""
    index = {pair: p for p, pair in enumerate(pairs)}
    dates = sorted({d for pair in pairs for d in pair})
    neighbours: dict[date, list[date]] = {d: [] for d in dates}
    for a, b in pairs:
        neighbours[a].append(b)
    found = []
    for a in dates:
        for b, c in itertools.combinations(sorted(neighbours[a]), 2):
            if (b, c) in index:
                found.append((index[(a, b)], index[(b, c)], index[(a, c)]))
    return found


def loop_closure(stack: Stack, check=None) -> ClosureEvidence:
    """Per-pair triplet counts from the per-pixel closure check (:mod:`.closure`): closed
    triplets each pair is in, and how many of them misclose by whole cycles over at least
    :data:`~.closure.MIN_PATCH_PIXELS` pixels.

    Parameters
    ----------
    check
        A :class:`~.closure.ClosureCheck` already run on this stack (else it is run).
    """
    from .closure import MIN_PATCH_PIXELS, check_closure

    check = check_closure(stack) if check is None else check
    triplets = np.array([check.pairs[p].triplets for p in stack.pair_ids], dtype=int)
    misclosed = np.array([check.pairs[p].misclosed for p in stack.pair_ids], dtype=int)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(check.triplet_valid > 0,
                         check.triplet_misclosed / np.maximum(check.triplet_valid, 1), 0.0)
    share = np.where(check.triplet_misclosed >= MIN_PATCH_PIXELS, share, 0.0)
    return ClosureEvidence(triplets=triplets, misclosed=misclosed,
                           triplet_pairs=tuple(check.triplets), triplet_misclosure=share)


def reconnecting_thresholds(stack: Stack, max_days: float | None,
                            max_bperp_m: float | None) -> dict[str, float | None]:
    """When the pre-selection thresholds leave the network in pieces, the smallest change of
    each threshold (the other one kept) that reconnects it; None where no value does.

    Returns
    -------
    dict
        ``{"max_days": D or None, "max_bperp_m": M or None}``; empty when the thresholds
        already give a connected network.
    """
    pairs = [(p.date1, p.date2) for p in stack.pairs]

    def connected(days: float | None, bperp: float | None) -> bool:
        keep = select_by_baseline(stack, days, bperp)
        health = network_health(pairs, keep)
        return health.connected and not health.isolated_dates

    if connected(max_days, max_bperp_m):
        return {}
    out: dict[str, float | None] = {"max_days": None, "max_bperp_m": None}
    for days in sorted({float(d) for d in stack.days if max_days is None or d > max_days}):
        if connected(days, max_bperp_m):
            out["max_days"] = days
            break
    for bperp in sorted({round(abs(float(b)), 2) + 0.01 for b in stack.bperp_m
                         if max_bperp_m is None or abs(b) > max_bperp_m}):
        if connected(max_days, bperp):
            out["max_bperp_m"] = bperp
            break
    return out
