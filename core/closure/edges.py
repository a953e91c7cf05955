"""A pair's own phase at an area's edge: the whole-cycle step that tells which pair of a
triplet carries an error only one triplet tests, and islands that no triplet tests at all."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..repairs import TWO_PI, Patch
from .params import EDGE_TOLERANCE, ISLAND_MIN_PIXELS, MAX_REPAIR_SHARE
from .phase_access import PhaseAccess
from .results import PairClosure, judge


def edge_step(phase: np.ndarray, inside: np.ndarray) -> float:
    """Median step of ``phase`` from just outside ``inside`` to its edge pixels, cycles (NaN
    where no edge pixel pair has data). ``phase`` and ``inside`` have shape (rows, cols)."""
    steps = _edge_steps(phase, inside)
    return float(np.median(steps)) if steps.size else float("nan")


def _edge_steps(phase: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Every step from just outside ``inside`` to its edge pixels, cycles (those with data)."""
    steps = []
    for axis in (0, 1):
        for forward in (True, False):
            a = [slice(None), slice(None)]
            b = [slice(None), slice(None)]
            a[axis], b[axis] = (slice(1, None), slice(None, -1)) if forward else \
                (slice(None, -1), slice(1, None))
            edge = inside[tuple(a)] & ~inside[tuple(b)]
            step = phase[tuple(a)][edge] - phase[tuple(b)][edge]
            steps.append(step[np.isfinite(step)])
    return np.concatenate(steps) / TWO_PI


def _credit_by_edge_step(phase: PhaseAccess, triplets: list[tuple[int, int, int]],
                         remaining: np.ndarray, pix: np.ndarray, shape: tuple[int, int],
                         correction: np.ndarray, grade: np.ndarray, support: np.ndarray,
                         min_pixels: int) -> None:
    """Misclosed areas that closure alone could not attribute (a patch that only one triplet
    tests, its three pairs equally suspect): the pair whose own phase steps by the implied
    cycles at the area's edge, the others not, carries it (updates the arrays in place)."""
    rows, cols = shape
    pix_rows, pix_cols = np.divmod(pix, cols)
    for t in np.flatnonzero((remaining != 0).sum(axis=1) >= min_pixels):
        where = np.flatnonzero(remaining[t])
        # The triplet's misclosed pixels, in their bounding box (one pixel of margin for the
        # edge steps).
        r0, c0 = max(int(pix_rows[where].min()) - 1, 0), max(int(pix_cols[where].min()) - 1, 0)
        r1 = min(int(pix_rows[where].max()) + 2, rows)
        c1 = min(int(pix_cols[where].max()) + 2, cols)
        box_values = np.zeros((r1 - r0, c1 - c0), dtype=np.int16)
        box_values[pix_rows[where] - r0, pix_cols[where] - c0] = remaining[t, where]
        for value in np.unique(box_values[box_values != 0]):
            labels, _ = ndimage.label(box_values == value, structure=np.ones((3, 3)))
            sizes = np.bincount(labels.ravel())
            for label in np.flatnonzero(sizes >= min_pixels):
                if label == 0:
                    continue
                area_box = labels == label
                members = triplets[t]
                implied = [int(value) if role < 2 else -int(value) for role in range(3)]
                deviation = [abs(edge_step(phase.window(q, slice(r0, r1), slice(c0, c1)),
                                           area_box) - k)
                             for q, k in zip(members, implied)]
                fits = [d < EDGE_TOLERANCE for d in deviation]
                others_flat = [d > 1 - EDGE_TOLERANCE for d in deviation]
                if sum(fits) != 1:
                    continue
                role = fits.index(True)
                if not all(others_flat[r] for r in range(3) if r != role):
                    continue
                pair = members[role]
                inside = np.zeros(rows * cols, dtype=bool)
                box_r, box_c = np.nonzero(area_box)
                inside[(box_r + r0) * cols + box_c + c0] = True
                hit = np.flatnonzero(inside[pix])
                correction[pair, hit] += implied[role]
                grade[pair, hit] = 2  # closure and the pair's own edge agree
                support[pair, hit] = 1
                remaining[t, hit] = 0


def _cut_components(phase: np.ndarray) -> np.ndarray:
    """Label pixels connected through neighbour steps smaller than pi (a 2 pi jump cuts),
    int, shape of ``phase``; -1 where no data."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rows, cols = phase.shape
    valid = np.isfinite(phase)
    index = np.arange(rows * cols).reshape(rows, cols)
    sources, targets = [], []
    for a, b in (((slice(None), slice(1, None)), (slice(None), slice(None, -1))),
                 ((slice(1, None), slice(None)), (slice(None, -1), slice(None)))):
        with np.errstate(invalid="ignore"):
            joined = valid[a] & valid[b] & (np.abs(phase[a] - phase[b]) < np.pi)
        sources.append(index[a][joined])
        targets.append(index[b][joined])
    source, target = np.concatenate(sources), np.concatenate(targets)
    graph = coo_matrix((np.ones(len(source), dtype=np.int8), (source, target)),
                       shape=(rows * cols, rows * cols))
    labels = connected_components(graph, directed=False)[1].reshape(rows, cols)
    labels[~valid] = -1
    return labels


def untestable_islands(phase: np.ndarray, testable: np.ndarray, min_pixels: int,
                       max_pixels: int) -> list[tuple[np.ndarray, int, float]]:
    """Islands of a pair's phase that no closed triplet tests: areas cut off from their
    surroundings by steps of a whole cycle all around (the unwrapper's signature).

    Parameters
    ----------
    phase
        One pair's unwrapped phase, radians, shape (rows, cols), NaN missing.
    testable
        Pixels that some closed triplet of the pair has data at, bool, same shape.

    Returns
    -------
    list
        (mask of the island, cycles it is off by, share of its edge steps within 0.35 cycle
        of that) per island of ``min_pixels`` to ``max_pixels`` pixels, mostly untestable.
    """
    islands: list[tuple[np.ndarray, int, float]] = []
    untested = np.isfinite(phase) & ~testable
    regions, count = ndimage.label(untested)
    region_sizes = np.bincount(regions.ravel(), minlength=count + 1)
    for number, box in enumerate(ndimage.find_objects(regions), start=1):
        # An island is mostly untested: a smaller untested region cannot hold one.
        if box is None or region_sizes[number] * 2 < min_pixels:
            continue
        r0, c0 = max(box[0].start - 1, 0), max(box[1].start - 1, 0)
        r1 = min(box[0].stop + 1, phase.shape[0])
        c1 = min(box[1].stop + 1, phase.shape[1])
        crop = phase[r0:r1, c0:c1]
        with np.errstate(invalid="ignore"):
            cut = (np.abs(np.diff(crop, axis=0)) > np.pi).any() \
                or (np.abs(np.diff(crop, axis=1)) > np.pi).any()
        if not cut or np.isfinite(crop).sum() < min_pixels:
            continue  # no step of half a cycle or more: nothing is cut off
        labels = _cut_components(crop)
        sizes = np.bincount(labels[labels >= 0].ravel())
        for label in np.flatnonzero((sizes >= min_pixels) & (sizes <= max_pixels)):
            inside = labels == label
            if testable[r0:r1, c0:c1][inside].mean() > 0.5 or _touches_crop_edge(
                    inside, (r0, c0, r1, c1), phase.shape):
                continue
            step = edge_step(crop, inside)
            steps = _edge_steps(crop, inside)
            if not np.isfinite(step) or steps.size < 4:
                continue
            cycles = int(np.rint(step))  # the island relative to its surroundings
            if cycles == 0:
                continue
            agreement = float(np.mean(np.abs(steps - cycles) < 0.35))
            if agreement < 0.7:
                continue
            full = np.zeros(phase.shape, dtype=bool)
            full[r0:r1, c0:c1] = inside
            islands.append((full, cycles, agreement))
    return islands


def _touches_crop_edge(inside: np.ndarray, box: tuple[int, int, int, int],
                       shape: tuple[int, int]) -> bool:
    """Whether the island reaches a side of its crop that is not the grid's side (it may go
    on outside the crop: not an island)."""
    r0, c0, r1, c1 = box
    return bool((r0 > 0 and inside[0].any()) or (c0 > 0 and inside[:, 0].any())
                or (r1 < shape[0] and inside[-1].any())
                or (c1 < shape[1] and inside[:, -1].any()))


def _add_untestable_islands(phase: PhaseAccess, triplets: list[tuple[int, int, int]],
                            pair_ids: list[str], results: dict[str, PairClosure],
                            valid_pixels: np.ndarray, min_pixels: int) -> int:
    """Mask-grade patches for the islands no closed triplet tests (:func:`untestable_islands`)
    of every checked pair that is not dropped (updates ``results``). Returns how many."""
    by_pair: dict[int, list[tuple[int, int, int]]] = {}
    for t in triplets:
        for p in t:
            by_pair.setdefault(p, []).append(t)
    added = 0
    for p, pair_id in enumerate(pair_ids):
        result = results[pair_id]
        if result.verdict not in ("clean", "repaired") or p not in by_pair:
            continue
        testable = np.zeros(phase.shape, dtype=bool)
        for a, b, c in by_pair[p]:
            testable |= phase.valid(a) & phase.valid(b) & phase.valid(c)
        if (phase.valid(p) & ~testable).sum() < min_pixels:
            continue
        known = np.zeros(phase.shape, dtype=bool)
        for patch in result.patches:
            known |= patch.full_mask(*known.shape)
        largest = max(min_pixels, int(MAX_REPAIR_SHARE * valid_pixels[p]))
        new = []
        for mask, cycles, agreement in untestable_islands(
                phase.pair(p), testable, max(min_pixels, ISLAND_MIN_PIXELS), largest):
            if (mask & known).any():
                continue
            rows, cols = np.nonzero(mask)
            box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
            new.append(Patch(patch_id=0, row0=int(rows.min()), col0=int(cols.min()),
                             mask=mask[box], cycles=cycles,
                             confidence=round(0.5 * agreement, 3), support=0, checked=0,
                             proposed="mask", action="mask"))
        if not new:
            continue
        patches = sorted([*result.patches, *new], key=lambda x: (x.row0, x.col0))
        results[pair_id] = judge(patches, valid_pixels[p], result.triplets, result.misclosed)
        added += len(new)
    return added
