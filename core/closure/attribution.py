"""Crediting each misclosed pixel's whole cycles to the pair that carries them, and the
patches (connected pixels of one pair with the same cycles) that follow."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage, sparse

from ..repairs import Patch
from .edges import _credit_by_edge_step
from .misclosure import _Closures
from .params import (
    CORRECT_SHARE,
    MAX_REPAIR_SHARE,
    MIN_AGREEMENT,
    MIN_SUPPORT_TO_CORRECT,
    ROUNDS,
    THREADS,
)
from .phase_access import PhaseAccess
from .results import PairClosure, judge


def _incidence(triplets: list[tuple[int, int, int]], n_pairs: int) -> np.ndarray:
    """Sign of each pair in each triplet's closure, shape (n_triplets, n_pairs), int8."""
    sign = np.zeros((len(triplets), n_pairs), dtype=np.int8)
    for t, (a, b, c) in enumerate(triplets):
        sign[t, a] += 1
        sign[t, b] += 1
        sign[t, c] -= 1
    return sign


def attribute(cycles: np.ndarray, valid: np.ndarray, sign: np.ndarray,
              pixels: np.ndarray | None = None, shape: tuple[int, int] | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Credit each misclosed pixel's error to pairs, peeling the best explanation first.

    Each round credits, pixel by pixel, the pair and cycles that lower the triplets' total
    misclosure most (ties go to the pair whose triplets agree best). From the second round
    on, where ``pixels`` and ``shape`` are given, a pixel next to pixels already credited to
    a pair with the same cycles leans to that pair: an error is a patch, and a pixel that only
    one triplet tests (all three of its pairs equally suspect) belongs to the patch it
    touches.

    Parameters
    ----------
    cycles
        Whole-cycle misclosure per triplet, shape (n_triplets, n_pixels), int.
    valid
        Triplet has data at the pixel, shape (n_triplets, n_pixels), bool.
    sign
        :func:`_incidence`, shape (n_triplets, n_pairs).
    pixels
        Flat index of each pixel in the grid, shape (n_pixels,).
    shape
        The grid, (rows, cols).

    Returns
    -------
    correction
        Cycles credited to each pair at each pixel, int8, shape (n_pairs, n_pixels).
    grade
        2 where correction-grade (at least two agreeing triplets, or every triplet agreeing
        next to a patch), 1 where mask-grade, shape (n_pairs, n_pixels).
    support, checked
        Agreeing triplets and triplets with data, for the credited pair, (n_pairs, n_pixels).
    remaining
        The misclosure nothing explained, same shape as ``cycles``.
    """
    n_tri, n_pix = cycles.shape
    n_pairs = sign.shape[1]
    correction = np.zeros((n_pairs, n_pix), dtype=np.int8)
    grade = np.zeros((n_pairs, n_pix), dtype=np.int8)
    support_out = np.zeros((n_pairs, n_pix), dtype=np.int16)
    checked_out = np.zeros((n_pairs, n_pix), dtype=np.int16)
    remaining = cycles.astype(np.int16).copy()
    if n_pix == 0 or n_tri == 0:
        return correction, grade, support_out, checked_out, remaining
    # Sparse: each triplet has three pairs.
    plus = sparse.csr_matrix((sign > 0).T.astype(np.float32))    # (n_pairs, n_tri)
    minus = sparse.csr_matrix((sign < 0).T.astype(np.float32))
    member = sparse.csr_matrix((sign != 0).T.astype(np.float32))
    valid_f = valid.astype(np.float32)
    checked = np.asarray(member @ valid_f)  # (n_pairs, n_pix)
    arrays = _Attribution(remaining, valid, valid_f, checked, sign, plus, minus, correction,
                          grade, support_out, checked_out)
    for round_number in range(ROUNDS):
        live = np.flatnonzero(remaining.any(axis=0))
        if not len(live):
            break
        near = None
        if round_number and pixels is not None and shape is not None:
            near = _near_credited(correction, pixels, shape, live)
            beside = near.any(axis=0)  # only pixels next to a patch can change now
            live, near = live[beside], near[:, beside]
            if not len(live):
                break
        credited = _round_in_threads(arrays, live, near)
        if not credited and (round_number > 0 or pixels is None or shape is None):
            break  # nothing credited, and no neighbours left to lean on
    return correction, grade, support_out, checked_out, remaining


@dataclass
class _Attribution:
    remaining: np.ndarray
    valid: np.ndarray
    valid_f: np.ndarray
    checked: np.ndarray
    sign: np.ndarray
    plus: sparse.csr_matrix
    minus: sparse.csr_matrix
    correction: np.ndarray
    grade: np.ndarray
    support: np.ndarray
    checked_out: np.ndarray


def _near_credited(correction: np.ndarray, pixels: np.ndarray, shape: tuple[int, int],
                   live: np.ndarray) -> np.ndarray:
    """Per pair and live pixel, the cycles credited to that pair within two pixels (0 where
    none or where they disagree), int8, shape (n_pairs, n_live)."""
    near = np.zeros((correction.shape[0], len(live)), dtype=np.int8)
    rows_live, cols_live = np.divmod(pixels[live], shape[1])
    all_rows, all_cols = np.divmod(pixels, shape[1])
    for p in np.flatnonzero(correction.any(axis=1)):
        credited = np.flatnonzero(correction[p])
        r, c = all_rows[credited], all_cols[credited]
        r0, c0 = max(int(r.min()) - 2, 0), max(int(c.min()) - 2, 0)
        r1, c1 = min(int(r.max()) + 3, shape[0]), min(int(c.max()) + 3, shape[1])
        box = np.zeros((r1 - r0, c1 - c0), dtype=np.int8)
        box[r - r0, c - c0] = correction[p, credited]
        inside = (rows_live >= r0) & (rows_live < r1) & (cols_live >= c0) & (cols_live < c1)
        if not inside.any():
            continue
        local_r, local_c = rows_live[inside] - r0, cols_live[inside] - c0
        votes = np.zeros(int(inside.sum()), dtype=np.int8)
        for k in np.unique(box[box != 0]):
            around = ndimage.binary_dilation(box == k, structure=np.ones((3, 3)),
                                             iterations=2)[local_r, local_c]
            votes = np.where(around & (votes == 0), k,
                             np.where(around & (votes != k), 0, votes))
        near[p, inside] = votes
    return near


def _round_in_threads(a: _Attribution, live: np.ndarray, near: np.ndarray | None) -> bool:
    """:func:`_attribution_round` on :data:`THREADS` slices of the live pixels at once (each
    pixel's attribution is its own within a round; the slices write disjoint columns)."""
    if len(live) < 4096 or THREADS < 2:
        return _attribution_round(a, live, near)
    slices = np.array_split(np.arange(len(live)), THREADS)
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        done = list(pool.map(lambda part: _attribution_round(
            a, live[part], None if near is None else near[:, part]), slices))
    return any(done)


def _attribution_round(a: _Attribution, live: np.ndarray, near: np.ndarray | None) -> bool:
    """One round of :func:`attribute` on the pixels ``live`` (updates ``a`` in place).
    Returns whether any pixel was credited."""
    # Advanced indexing leaves columns strided: contiguous copies keep the sparse products
    # from copying their operands again.
    rem = np.ascontiguousarray(a.remaining[:, live])
    valid_f = np.ascontiguousarray(a.valid_f[:, live])
    checked = np.ascontiguousarray(a.checked[:, live])
    n_pix = len(live)
    columns = np.arange(n_pix)
    magnitude = np.abs(rem).astype(np.float32)
    best = np.full(n_pix, -np.inf)
    second = np.full(n_pix, -np.inf)
    best_pair = np.zeros(n_pix, dtype=int)
    best_k = np.zeros(n_pix, dtype=int)
    best_support = np.zeros(n_pix)
    best_gain = np.zeros(n_pix)
    best_near = np.zeros(n_pix, dtype=bool)
    for k in (1, -1, 2, -2, 3, -3):
        if not (magnitude == abs(k)).any():
            continue
        # How much crediting k cycles to each pair lowers its triplets' total misclosure (an
        # L1 norm), and how many of its triplets show exactly that error.
        gain = np.asarray(a.plus @ ((magnitude - np.abs(rem - k)) * valid_f)
                          + a.minus @ ((magnitude - np.abs(rem + k)) * valid_f))
        support = np.asarray(a.plus @ (rem == k).astype(np.float32)
                             + a.minus @ (rem == -k).astype(np.float32))
        agreement = support / np.maximum(checked, 1)
        beside = (near == k) & (support > 0) & (gain >= 0) if near is not None \
            else np.zeros_like(support, dtype=bool)
        eligible = (support > 0) & ((gain >= 1) | beside)
        score = np.where(eligible, gain + 0.5 * agreement + 2.0 * beside, -np.inf)
        top = np.argmax(score, axis=0)
        top_score = score[top, columns]
        score[top, columns] = -np.inf
        runner = score.max(axis=0)
        better = top_score > best
        second = np.where(better, np.maximum(best, runner), np.maximum(second, top_score))
        best = np.where(better, top_score, best)
        best_pair = np.where(better, top, best_pair)
        best_k = np.where(better, k, best_k)
        best_support = np.where(better, support[top, columns], best_support)
        best_gain = np.where(better, gain[top, columns], best_gain)
        best_near = np.where(better, beside[top, columns], best_near)
    credited = np.isfinite(best) & (best > second + 1e-6)
    if not credited.any():
        return False
    local = np.flatnonzero(credited)
    pix = live[local]
    pairs = best_pair[local]
    k = best_k[local]
    n_checked = checked[pairs, local]
    agreeing = best_support[local] >= MIN_AGREEMENT * n_checked
    strong = agreeing & ((best_support[local] >= MIN_SUPPORT_TO_CORRECT)
                         | (best_near[local] & (best_gain[local] >= 1)))
    a.correction[pairs, pix] += k.astype(np.int8)
    a.grade[pairs, pix] = np.maximum(a.grade[pairs, pix], np.where(strong, 2, 1))
    a.support[pairs, pix] = best_support[local]
    a.checked_out[pairs, pix] = n_checked
    a.remaining[:, pix] -= a.sign[:, pairs] * k[None, :].astype(np.int16)
    a.remaining[:, pix] *= a.valid[:, pix]
    return True


def _large_error_pairs(closures: _Closures, n_pairs: int) -> dict[int, float]:
    """Pairs whose closed triplets (two at least) all miscloses over more than
    :data:`MAX_REPAIR_SHARE` of their pixels, with the smallest such share (a lower bound of
    the pair's own error share)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        share = closures.misclosed / np.maximum(closures.valid_pixels, 1)
    lowest = np.full(n_pairs, np.inf)
    count = np.zeros(n_pairs, dtype=int)
    for t, members in enumerate(closures.triplets):
        for p in members:
            lowest[p] = min(lowest[p], share[t])
            count[p] += 1
    return {int(p): float(lowest[p]) for p in np.flatnonzero(
        (count >= 2) & (lowest > MAX_REPAIR_SHARE))}


@dataclass
class _Credit:
    """Per pair and flagged pixel (columns of :class:`_Closures`): credited cycles, grade,
    agreeing and checked triplets."""

    correction: np.ndarray
    grade: np.ndarray
    support: np.ndarray
    checked: np.ndarray

    @classmethod
    def empty(cls, n_pairs: int, n_pixels: int) -> _Credit:
        return cls(np.zeros((n_pairs, n_pixels), np.int8), np.zeros((n_pairs, n_pixels), np.int8),
                   np.zeros((n_pairs, n_pixels), np.int16),
                   np.zeros((n_pairs, n_pixels), np.int16))


def _attribute_pass(closures: _Closures, use: np.ndarray, pair_ids: list[str],
                    valid_pixels: np.ndarray, min_patch_pixels: int,
                    phase: PhaseAccess | None = None, credit: _Credit | None = None,
                    columns: np.ndarray | None = None,
                    earlier: dict[str, PairClosure] | None = None
                    ) -> tuple[dict[str, PairClosure], int, _Credit]:
    """Credit the misclosures of the triplets in ``use`` to pairs and make their patches;
    with ``phase``, a misclosed area that no pair could be credited with by closure alone
    goes to the one pair of its triplet whose own phase steps by those cycles at its edge.

    With ``credit`` (an earlier pass's) and ``columns`` (flagged pixels, bool), only those
    pixels are attributed again; the others keep the earlier credit, and a pair whose credit
    did not change keeps its ``earlier`` result.
    """
    n = closures.n_pairs
    rows, cols = closures.shape
    triplets = [t for t, u in zip(closures.triplets, use) if u]
    in_triplets = np.zeros(n, dtype=int)
    misclosed_triplets = np.zeros(n, dtype=int)
    for members, count in zip(triplets, closures.misclosed[use]):
        for p in members:
            in_triplets[p] += 1
            misclosed_triplets[p] += int(count >= min_patch_pixels)
    unexplained = 0
    credit = _Credit.empty(n, len(closures.pixels)) if credit is None else credit
    previous = credit.correction.copy() if earlier is not None else None
    if len(closures.pixels) and triplets:
        cycles = closures.cycles[use]
        redo = cycles.any(axis=0) if columns is None else cycles.any(axis=0) & columns
        if columns is not None:
            for array in (credit.correction, credit.grade, credit.support, credit.checked):
                array[:, columns] = 0
        pix = closures.pixels[redo]
        correction, grade, support, checked, remaining = attribute(
            cycles[:, redo], closures.valid[use][:, redo], _incidence(triplets, n),
            pix, (rows, cols))
        if phase is not None:
            _credit_by_edge_step(phase, triplets, remaining, pix, (rows, cols), correction,
                                 grade, support, min_patch_pixels)
        credit.correction[:, redo] = correction
        credit.grade[:, redo] = grade
        credit.support[:, redo] = support
        credit.checked[:, redo] = checked
        unexplained = int((remaining != 0).sum())
    changed = (np.ones(n, dtype=bool) if previous is None
               else (previous != credit.correction).any(axis=1))
    results: dict[str, PairClosure] = {}
    for p, pair_id in enumerate(pair_ids):
        if in_triplets[p] == 0:
            results[pair_id] = PairClosure("unchecked", 0, 0)
            continue
        if earlier is not None and pair_id in earlier and not changed[p]:
            results[pair_id] = replace(earlier[pair_id], triplets=int(in_triplets[p]),
                                       misclosed=int(misclosed_triplets[p]))
            continue
        patches: list[Patch] = []
        if credit.correction[p].any():
            patches = _patches(credit.correction[p], credit.grade[p], credit.support[p],
                               credit.checked[p], closures.pixels, rows, cols,
                               min_patch_pixels)
        results[pair_id] = judge(patches, valid_pixels[p], int(in_triplets[p]),
                                 int(misclosed_triplets[p]))
    return results, unexplained, credit




def _patches(correction: np.ndarray, grade: np.ndarray, support: np.ndarray,
             checked: np.ndarray, pix: np.ndarray, rows: int, cols: int,
             min_pixels: int) -> list[Patch]:
    """Connected pixels of one pair with the same credited cycles, as patches."""
    full = np.zeros(rows * cols, dtype=np.int8)
    full[pix] = correction
    full = full.reshape(rows, cols)
    grade_full = np.zeros(rows * cols, dtype=np.int8)
    grade_full[pix] = grade
    support_full = np.zeros(rows * cols, dtype=np.int16)
    support_full[pix] = support
    checked_full = np.zeros(rows * cols, dtype=np.int16)
    checked_full[pix] = checked
    grade_full, support_full, checked_full = (x.reshape(rows, cols) for x in
                                              (grade_full, support_full, checked_full))
    patches: list[Patch] = []
    for k in sorted({int(v) for v in np.unique(full) if v != 0}, key=lambda v: (abs(v), -v)):
        pixels = full == k
        # Fragments a pixel or two apart (pixels no triplet could test in between) are one
        # patch: label the slightly grown pixels, keep only the credited ones.
        rr, cc = np.nonzero(pixels)
        r0, c0 = max(int(rr.min()) - 1, 0), max(int(cc.min()) - 1, 0)
        r1, c1 = min(int(rr.max()) + 2, rows), min(int(cc.max()) + 2, cols)
        grown = np.zeros_like(pixels)
        grown[r0:r1, c0:c1] = ndimage.binary_dilation(pixels[r0:r1, c0:c1],
                                                      structure=np.ones((3, 3)))
        labels, _ = ndimage.label(grown, structure=np.ones((3, 3)))
        labels[~pixels] = 0
        for box_index, box in enumerate(ndimage.find_objects(labels), start=1):
            if box is None:
                continue
            mask = labels[box] == box_index
            if mask.sum() < min_pixels:
                continue
            g = grade_full[box][mask]
            s = support_full[box][mask]
            c = checked_full[box][mask]
            agreement = float(np.mean(s / np.maximum(c, 1)))
            proposed = "correct" if np.mean(g == 2) >= CORRECT_SHARE else "mask"
            patches.append(Patch(
                patch_id=0, row0=int(box[0].start), col0=int(box[1].start), mask=mask,
                cycles=k, confidence=round(min(1.0, agreement), 3),
                support=int(np.median(s)), checked=int(np.median(c)), proposed=proposed,
                action=proposed))
    return sorted(patches, key=lambda x: (x.row0, x.col0))  # numbered by judge()
