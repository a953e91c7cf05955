"""What the review surface shows, computed without Qt: per-pair statistics and the baseline
graph model (nodes at (date, Bperp), edges with score and decision)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from .closure import ClosureCheck, check_closure, phase_cube_fits
from .labels import Label, LabelsStore
from .network import ClosureEvidence, NetworkHealth, loop_closure, network_health
from .stack import Stack


@dataclass(frozen=True)
class PairStatistics:
    """Per pair: mean coherence (NaN without coherence) and coverage (share of valid pixels),
    shape (n_pairs,) each, and the loop-closure evidence."""

    mean_coherence: np.ndarray
    coverage: np.ndarray
    closure: ClosureEvidence
    check: ClosureCheck | None = None


def pair_statistics(stack: Stack, progress: Callable[[int, int], None] | None = None,
                    closure: bool = True) -> PairStatistics:
    """Read every pair once for its coherence and coverage, then the closure check (on the
    phase already read, where it fits the check's memory budget)."""
    n = stack.n_pairs
    mean_coherence = np.full(n, np.nan)
    coverage = np.zeros(n)
    pixels = stack.grid.width * stack.grid.height
    cube = (np.empty((n, stack.grid.height, stack.grid.width), dtype=np.float32)
            if closure and phase_cube_fits(stack) else None)
    for i in range(n):
        phase = stack.read_phase(i, referenced=False)
        coverage[i] = np.isfinite(phase).sum() / pixels
        if cube is not None:
            cube[i] = phase
        coherence = stack.read_coherence(i)
        if coherence is not None and np.isfinite(coherence).any():
            mean_coherence[i] = float(np.nanmean(coherence))
        if progress is not None:
            progress(i + 1, 2 * n if closure else n)
    check = None
    if closure:
        check = check_closure(stack, phase=cube)
        evidence = loop_closure(stack, check)
    else:
        evidence = ClosureEvidence(np.zeros(n, int), np.zeros(n, int), (), np.zeros(0))
    if progress is not None:
        progress(2 * n if closure else n, 2 * n if closure else n)
    return PairStatistics(mean_coherence, coverage, evidence, check)


@dataclass(frozen=True)
class GraphEdge:
    """One pair as drawn: its node indices, score (probability of high quality, None before
    classification), final label, whether the user decided it, whether it is a bridge, and
    whether it carries repairs of unwrapping errors."""

    index: int
    pair_id: str
    node1: int
    node2: int
    score: float | None
    label: Label
    by_user: bool
    bridge: bool
    repaired: bool = False  # has corrected or masked patches of unwrapping errors


@dataclass(frozen=True)
class BaselineGraph:
    """Nodes (acquisition date, perpendicular baseline in metres) and edges, plus health."""

    dates: tuple[date, ...]
    bperp_m: tuple[float, ...]
    edges: tuple[GraphEdge, ...]
    health: NetworkHealth


def baseline_graph(stack: Stack, store: LabelsStore,
                   mean_coherence: np.ndarray | None = None) -> BaselineGraph:
    """The graph model of a stack and its current labels."""
    keep = np.array(store.keep_mask())
    health = network_health([(p.date1, p.date2) for p in stack.pairs], keep, mean_coherence)
    index = {d: k for k, d in enumerate(stack.dates)}
    bridges = set(health.bridges)
    edges = []
    for i, pair in enumerate(stack.pairs):
        entry = store.labels[pair.pair_id]
        edges.append(GraphEdge(i, pair.pair_id, index[pair.date1], index[pair.date2],
                               entry.probability_high, entry.final, entry.override is not None,
                               i in bridges, bool(entry.active_repairs)))
    return BaselineGraph(tuple(stack.dates), tuple(float(b) for b in stack.date_bperp_m),
                         tuple(edges), health)


def drop_warning(graph: BaselineGraph, index: int) -> str | None:
    """What dropping pair ``index`` would break, in words, or None when it is harmless."""
    edge = graph.edges[index]
    if edge.label is Label.LOW:
        return None
    cut = graph.health.cut_off_by_drop.get(index)
    redundancy = graph.health.redundancy
    lonely = [graph.dates[n] for n in (edge.node1, edge.node2) if redundancy[n] == 1]
    parts = []
    if lonely:
        parts.append("it is the last kept pair of " + ", ".join(d.isoformat() for d in lonely))
    if cut:
        parts.append("it is a bridge: dropping it cuts off "
                     + ", ".join(d.isoformat() for d in cut))
    return "; ".join(parts) or None


def health_text(health: NetworkHealth) -> str:
    """One line on the network's health for the dock."""
    if health.connected and not health.isolated_dates:
        text = "Network connected"
    else:
        text = f"Network split into {len(health.pieces)} pieces"
    if health.isolated_dates:
        text += f"; {len(health.isolated_dates)} date(s) without a kept pair"
    if health.bridges:
        text += f"; {len(health.bridges)} bridge pair(s)"
    if health.temporal_gaps:
        text += f"; {len(health.temporal_gaps)} gap(s) in time"
    low = min(health.redundancy) if health.redundancy else 0
    return text + f"; fewest pairs at one date: {low}"


def health_report(stack: Stack, store: LabelsStore, closure: bool) -> dict:
    """The network's health (and, with ``closure``, the per-pixel closure check, stored in
    the labels so that every command gives the same verdict) as plain data."""
    check = None
    if closure:
        check = check_closure(stack)
        store.set_closure(check)
    keep = np.array(store.keep_mask())
    health = network_health([(p.date1, p.date2) for p in stack.pairs], keep)
    report = {
        "n_pairs": stack.n_pairs, "n_kept": int(keep.sum()),
        "connected": health.connected,
        "pieces": [[d.isoformat() for d in piece] for piece in health.pieces],
        "isolated_dates": [d.isoformat() for d in health.isolated_dates],
        "bridges": [stack.pair_ids[p] for p in health.bridges],
        "cut_off_by_drop": {stack.pair_ids[p]: [d.isoformat() for d in dates]
                            for p, dates in health.cut_off_by_drop.items()},
        "temporal_gaps": [[a.isoformat(), b.isoformat()] for a, b in health.temporal_gaps],
        "redundancy": dict(zip((d.isoformat() for d in health.dates), health.redundancy)),
    }
    if check is not None:
        report["loop_closure"] = {
            pid: {"triplets": check.pairs[pid].triplets,
                  "misclosed": check.pairs[pid].misclosed,
                  "verdict": store.labels[pid].closure,
                  "final": store.labels[pid].final.value,
                  "description": store.labels[pid].repair_text,
                  "patches": [_patch_report(p) for p in store.labels[pid].repairs]}
            for pid in stack.pair_ids}
        report["n_triplets"] = len(check.triplets)
        report["closure_summary"] = check.summary()
        report["pairs_checked"] = check.n_checked
        report["misclosed_pixels"] = int((check.misclosed_count > 0).sum())
    return report


def _patch_report(patch) -> dict:
    """A patch as plain data (no pixel mask: that stays in the labels file)."""
    return {"patch_id": patch.patch_id, "rows": list(patch.rows), "cols": list(patch.cols),
            "n_pixels": patch.n_pixels, "cycles": patch.cycles,
            "confidence": patch.confidence, "support": patch.support,
            "checked": patch.checked, "proposed": patch.proposed, "action": patch.action,
            "source": patch.source}
