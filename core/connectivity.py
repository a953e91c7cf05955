"""Keep the network connected: propose the fewest dropped pairs whose re-admission joins the
pieces the selection left, chosen by the model's probability and coherence.

The pieces of the kept network are contracted to single nodes; among the dropped pairs that
link two pieces, the best of each pair of pieces is kept, and a minimum spanning tree over
``2 - probability - coherence`` (scipy) picks the fewest, best re-admissions. A pair the
analyst dropped by hand is never proposed. Pieces no dropped pair can reach are named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

if TYPE_CHECKING:
    from .labels import LabelsStore
    from .stack import Stack


@dataclass(frozen=True)
class Readmission:
    """One proposed pair: what it costs (its probability and coherence) and what it joins."""

    index: int
    pair_id: str
    probability: float | None
    coherence: float | None
    joins: tuple[date, ...]

    def describe(self) -> str:
        parts = []
        if self.probability is not None:
            parts.append(f"probability of high quality {self.probability:.2f}")
        if self.coherence is not None and np.isfinite(self.coherence):
            parts.append(f"coherence {self.coherence:.2f}")
        return (f"re-admit {self.pair_id} ({', '.join(parts) or 'no score'}) to reconnect "
                + ", ".join(d.isoformat() for d in self.joins[:4])
                + (" …" if len(self.joins) > 4 else ""))


@dataclass(frozen=True)
class ConnectivityPlan:
    proposals: tuple[Readmission, ...]
    unreachable: tuple[tuple[date, ...], ...]  # pieces that no dropped pair can reconnect
    pieces_before: int
    pieces_after: int


def propose_readmissions(pairs: list[tuple[date, date]], pair_ids: list[str],
                         keep: np.ndarray, probability: np.ndarray | None = None,
                         coherence: np.ndarray | None = None,
                         protected: np.ndarray | None = None) -> ConnectivityPlan:
    """Fewest re-admissions that reconnect the kept network.

    Parameters
    ----------
    pairs, pair_ids
        Every pair's dates and id, length n_pairs.
    keep
        Kept pairs, bool, shape (n_pairs,).
    probability, coherence
        Per pair, shape (n_pairs,) (NaN or None when unknown).
    protected
        Pairs that must not be re-admitted (dropped by the analyst), bool, shape (n_pairs,).
    """
    n = len(pairs)
    dates = sorted({d for pair in pairs for d in pair})
    index = {d: i for i, d in enumerate(dates)}
    kept_edges = [(index[a], index[b]) for (a, b), k in zip(pairs, keep) if k]
    if kept_edges:
        rows, cols = zip(*kept_edges)
        graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(dates),) * 2)
        n_pieces, piece = connected_components(graph, directed=False)
    else:
        n_pieces, piece = len(dates), np.arange(len(dates))
    if n_pieces <= 1:
        return ConnectivityPlan((), (), n_pieces, n_pieces)
    p = np.full(n, 0.5) if probability is None else np.nan_to_num(
        np.asarray(probability, float), nan=0.5)
    c = np.full(n, 0.5) if coherence is None else np.nan_to_num(
        np.asarray(coherence, float), nan=0.5)
    protected = np.zeros(n, bool) if protected is None else np.asarray(protected, bool)
    best: dict[tuple[int, int], tuple[float, int]] = {}
    for k, (a, b) in enumerate(pairs):
        if keep[k] or protected[k]:
            continue
        i, j = sorted((int(piece[index[a]]), int(piece[index[b]])))
        if i == j:
            continue
        cost = 2.0 - p[k] - c[k] + 1e-6
        if (i, j) not in best or cost < best[(i, j)][0]:
            best[(i, j)] = (cost, k)
    proposals: list[Readmission] = []
    if best:
        keys = list(best)
        rows = [i for i, _ in keys]
        cols = [j for _, j in keys]
        costs = [best[key][0] for key in keys]
        tree = minimum_spanning_tree(coo_matrix((costs, (rows, cols)),
                                                shape=(n_pieces, n_pieces))).tocoo()
        sizes = np.bincount(piece, minlength=n_pieces)
        for i, j in zip(tree.row, tree.col):
            cost, k = best[(min(i, j), max(i, j))]
            smaller = i if sizes[i] < sizes[j] else j
            joins = tuple(d for d in dates if piece[index[d]] == smaller)
            proposals.append(Readmission(k, pair_ids[k],
                                         None if probability is None else float(p[k]),
                                         None if coherence is None else float(c[k]), joins))
    # What stays apart after the proposals.
    final_edges = kept_edges + [(index[pairs[r.index][0]], index[pairs[r.index][1]])
                                for r in proposals]
    rows, cols = zip(*final_edges)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(dates),) * 2)
    n_after, labels = connected_components(graph, directed=False)
    main = np.bincount(labels).argmax()
    unreachable = tuple(tuple(d for d in dates if labels[index[d]] == k)
                        for k in range(n_after) if k != main)
    return ConnectivityPlan(tuple(sorted(proposals, key=lambda r: r.index)), unreachable,
                            n_pieces, n_after)


def plan_readmissions(stack: Stack, store: LabelsStore,
                      coherence: np.ndarray | None = None) -> ConnectivityPlan:
    """:func:`propose_readmissions` for a stack's labels, as they stand before any
    re-admission (nothing is changed); pairs the analyst dropped are never proposed.

    Parameters
    ----------
    coherence
        Mean coherence per pair, shape (n_pairs,), when known (it breaks ties).
    """
    from .labels import Label

    entries = [store.labels[p] for p in stack.pair_ids]
    probability = np.array([np.nan if e.probability_high is None else e.probability_high
                            for e in entries])
    return propose_readmissions(
        [(p.date1, p.date2) for p in stack.pairs], stack.pair_ids,
        np.array([e.final_before_readmission is Label.HIGH for e in entries]),
        probability if np.isfinite(probability).any() else None, coherence,
        protected=np.array([e.override is Label.LOW for e in entries]))


def readmit_to_connect(stack: Stack, store: LabelsStore,
                       coherence: np.ndarray | None = None) -> ConnectivityPlan:
    """Apply :func:`plan_readmissions`: its proposals replace any earlier re-admissions in
    ``store`` (saved)."""
    plan = plan_readmissions(stack, store, coherence)
    store.set_readmitted([r.pair_id for r in plan.proposals])
    return plan
