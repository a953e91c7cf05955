"""Connectivity of the kept network: which dates the selection splits off."""

from __future__ import annotations

from datetime import date


def date_components(dates: list[date], pairs: list[tuple[date, date]]) -> list[list[date]]:
    """Connected pieces of the network, largest first (dates sorted within each).

    A union-find over the pairs: a few hundred dates need no graph library (and the inversion
    starts faster without importing one).
    """
    parent = {d: d for d in dates}

    def root(d: date) -> date:
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    pieces: dict[date, list[date]] = {}
    for d in sorted(dates):
        pieces.setdefault(root(d), []).append(d)
    return sorted(pieces.values(), key=lambda piece: (-len(piece), piece[0]))
