"""Connectivity of the kept network: which dates the selection splits off."""

from __future__ import annotations

from datetime import date

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def date_components(dates: list[date], pairs: list[tuple[date, date]]) -> list[list[date]]:
    """Connected pieces of the network, largest first (dates sorted within each)."""
    if not dates:
        return []
    index = {d: i for i, d in enumerate(dates)}
    rows = [index[a] for a, _ in pairs]
    cols = [index[b] for _, b in pairs]
    graph = coo_matrix((np.ones(len(pairs)), (rows, cols)), shape=(len(dates), len(dates)))
    n, labels = connected_components(graph, directed=False)
    pieces = [[d for d, label in zip(dates, labels) if label == k] for k in range(n)]
    return sorted(pieces, key=lambda piece: (-len(piece), piece[0]))
