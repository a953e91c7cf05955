"""Per-pixel triplet closure: find small local unwrapping errors, attribute each to the pair
that carries it, and propose its repair.

For a closed triplet of pairs (ij, jk, ik) the unwrapped phases must satisfy
``phi_ij + phi_jk - phi_ik = 0`` up to noise and a smooth, non-integer part (multilooking,
soil moisture). An unwrapping error of ``k`` cycles in one pair shows as a misclosure of
``+-2 pi k`` over the error's pixels in every triplet that pair closes, and in no other. So:

1. every triplet's closure, minus its median and its smooth part (block means of the wrapped
   residual), is rounded to whole cycles; a pixel counts as misclosed where that is non-zero
   and the residual is close to a whole cycle (noise misclosing by half a cycle does not count);
2. pixel by pixel, the pair whose closed triplets agree best on one integer error is credited
   with it (its triplets corrected and the search repeated, so two pairs erring at the same
   pixels are both found): "correct" where at least two triplets agree, "mask" where the
   evidence is a single triplet or ambiguous;
3. per pair, connected pixels with the same cycles make patches; a pair with errors over more
   than :data:`MAX_REPAIR_SHARE` of its pixels is dropped rather than repaired.

A pair in no closed triplet is "unchecked": nothing is guessed about it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
from scipy import ndimage, sparse

from .network import closed_triplets, read_or_missing
from .repairs import TWO_PI, Patch
from .stack import Stack
from .stack_types import Window

#: A misclosure counts when its distance to the nearest non-zero whole cycle is below this,
#: cycles (0.35: at least 0.65 cycle, about 4.1 rad).
INTEGER_TOLERANCE = 0.35
#: Side of the blocks on which each triplet's smooth non-integer closure is estimated, pixels.
SMOOTH_BLOCK = 16
#: Smallest patch that is repaired, pixels (smaller misclosed clusters are counted, not repaired).
MIN_PATCH_PIXELS = 6
#: Smallest island that no triplet tests but the pair's own 2 pi step outlines (noise makes
#: smaller ones; the unwrapping errors of real stacks are about a dozen pixels and more).
ISLAND_MIN_PIXELS = 10
#: Closed triplets that must agree on a pixel's error for a correction.
MIN_SUPPORT_TO_CORRECT = 2
#: Share of a pair's closed triplets (with data at the pixel) that must agree for a correction.
MIN_AGREEMENT = 0.6
#: A patch is corrected when at least this share of its pixels carries correction-grade evidence.
CORRECT_SHARE = 0.8
#: Above this share of its valid pixels in patches, a pair is dropped, not repaired.
MAX_REPAIR_SHARE = 0.02
#: Rounds of attribution (each removes the errors found so far and looks again).
ROUNDS = 3
#: Largest phase cube the check holds in memory, GiB (a 40-date 256² stack of 190 pairs is
#: 0.05 GiB; a Sentinel-1 frame at 80 m with 400 pairs about 11 GiB).
MEMORY_GB = 2.0
#: Threads closing triplets and reading pairs (numpy and GDAL release the GIL).
THREADS = 2
#: Triplets closed at once (memory: this many float32 rasters).
TRIPLET_CHUNK = 32

VERDICTS = ("clean", "repaired", "dropped", "unchecked")


@dataclass(frozen=True)
class PairClosure:
    """What the closure check says of one pair.

    Attributes
    ----------
    verdict
        "clean", "repaired" (has patches, corrected or masked), "dropped" (errors over too
        large a share to repair) or "unchecked" (in no closed triplet).
    triplets
        Closed triplets the pair is in.
    misclosed
        Of those, how many miscloses by whole cycles over at least ``MIN_PATCH_PIXELS``.
    patches
        The pair's patches (empty unless repaired or dropped).
    error_share
        Share of the pair's valid pixels in patches.
    """

    verdict: str
    triplets: int
    misclosed: int
    patches: tuple[Patch, ...] = ()
    error_share: float = 0.0

    def describe(self) -> str:
        if self.verdict == "unchecked":
            return "closure unchecked (in no closed triplet)"
        if self.verdict == "clean":
            return f"closes in {self.triplets} triplet(s)"
        if self.verdict == "dropped":
            return (f"unwrapping errors over {self.error_share:.1%} of the pair or more: too "
                    "large to repair, dropped")
        return "; ".join(f"unwrapping error: {p.describe()}" for p in self.patches)


@dataclass(frozen=True)
class ClosureCheck:
    """The closure check of a whole stack.

    Attributes
    ----------
    pair_ids
        Pairs, in the stack's order.
    pairs
        Per pair, its :class:`PairClosure`.
    triplets
        Pair indices (ij, jk, ik) of every closed triplet.
    triplet_misclosed
        Pixels misclosed by whole cycles per triplet (after the size filter), shape (n_triplets,).
    triplet_valid
        Pixels with data in all three pairs per triplet, shape (n_triplets,).
    misclosed_count
        Per pixel, closed triplets misclosed by whole cycles, int16, shape (rows, cols).
    triplet_count
        Per pixel, closed triplets with data, int16, shape (rows, cols).
    unexplained_pixels
        Misclosed triplet-pixels that no pair could be credited with.
    """

    pair_ids: tuple[str, ...]
    pairs: dict[str, PairClosure]
    triplets: tuple[tuple[int, int, int], ...]
    triplet_misclosed: np.ndarray
    triplet_valid: np.ndarray
    misclosed_count: np.ndarray
    triplet_count: np.ndarray
    unexplained_pixels: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def n_checked(self) -> int:
        return sum(p.verdict != "unchecked" for p in self.pairs.values())

    def repairs(self) -> dict[str, tuple[Patch, ...]]:
        """Patches of the pairs that are repaired (not of dropped ones)."""
        return {pid: c.patches for pid, c in self.pairs.items() if c.verdict == "repaired"}

    def summary(self) -> str:
        """One line: checked pairs, repaired, dropped, unchecked."""
        counts = {v: sum(p.verdict == v for p in self.pairs.values()) for v in VERDICTS}
        n_patches = sum(len(p.patches) for p in self.pairs.values() if p.verdict == "repaired")
        text = (f"closure: {self.n_checked} of {len(self.pair_ids)} pairs checked in "
                f"{len(self.triplets)} triplets; {counts['repaired']} repaired "
                f"({n_patches} patch(es)), {counts['dropped']} dropped, "
                f"{counts['unchecked']} unchecked")
        if self.n_checked == 0 and self.notes:
            text += f" ({self.notes[0]})"
        return text


# ---- per-triplet closure -----------------------------------------------------------------------
def _block_mean(values: np.ndarray, block: int) -> np.ndarray:
    """NaN-aware mean over ``block`` x ``block`` tiles, broadcast back to the input's shape.

    ``values`` has shape (n, rows, cols)."""
    n, rows, cols = values.shape
    pad_r, pad_c = (-rows) % block, (-cols) % block
    padded = np.pad(values, ((0, 0), (0, pad_r), (0, pad_c)), constant_values=np.nan)
    tiles = padded.reshape(n, (rows + pad_r) // block, block, (cols + pad_c) // block, block)
    finite = np.isfinite(tiles)
    total = np.where(finite, tiles, 0.0).sum(axis=(2, 4))
    count = finite.sum(axis=(2, 4))
    mean = (total / np.maximum(count, 1)).astype(values.dtype)  # 0 where a tile is empty
    tile_rows = np.arange(rows) // block
    tile_cols = np.arange(cols) // block
    return mean[:, tile_rows[:, None], tile_cols[None, :]]


def _smooth_surface(residual: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """A robust quadratic surface of each closure (orbital-like trends close badly in real
    stacks), fitted on a decimated grid with pixels far from it left out, radians, same shape
    as ``residual`` (n, rows, cols). Subtracted in place from ``residual``, which is
    returned."""
    n, rows, cols = residual.shape
    step = max(1, int(np.sqrt(rows * cols / 1024)))
    y = (np.arange(rows) / max(rows - 1, 1) - 0.5).astype(np.float32)
    x = (np.arange(cols) / max(cols - 1, 1) - 0.5).astype(np.float32)
    yc, xc = np.meshgrid(y[::step], x[::step], indexing="ij")
    coarse = np.stack([np.ones_like(yc), yc, xc, yc * yc, xc * xc, xc * yc],
                      axis=-1).reshape(-1, 6).astype(np.float64)
    for t in range(n):
        values = residual[t, ::step, ::step].reshape(-1)
        use = valid[t, ::step, ::step].reshape(-1)
        if use.sum() < 24:
            continue
        for _ in range(3):
            design = coarse[use]
            coefficients = np.linalg.lstsq(design.T @ design, design.T @ values[use],
                                           rcond=None)[0]
            misfit = np.abs(values - coarse @ coefficients)
            keep = use & (misfit < np.pi / 2)
            if keep.sum() < 24 or np.array_equal(keep, use):
                break
            use = keep
        c0, cy, cx, cyy, cxx, cxy = coefficients.astype(np.float32)
        # Separable: (c0 + cy y + cyy y^2) + (cx x + cxx x^2) + cxy y x.
        residual[t] -= (c0 + cy * y + cyy * y * y)[:, None]
        residual[t] -= (cx * x + cxx * x * x)[None, :]
        residual[t] -= cxy * np.outer(y, x)
    return residual


def integer_misclosure(closure: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whole-cycle misclosure per pixel of a batch of triplet closures.

    The triplet's median, a robust quadratic trend and, locally, the block means of what is
    left (wrapped) are removed first: misclosures that are smooth or not whole cycles are not
    unwrapping errors.

    Parameters
    ----------
    closure
        ``phi_ij + phi_jk - phi_ik``, radians, shape (n_triplets, rows, cols), NaN missing.

    Returns
    -------
    cycles
        Integer cycles per pixel, int8, shape (n_triplets, rows, cols); 0 where the closure is
        not near a non-zero whole cycle or is missing.
    valid
        Pixels with data in all three pairs, bool, same shape.
    """
    valid = np.isfinite(closure)
    n = len(closure)
    median = np.zeros(n, dtype=np.float32)
    step = max(1, int(np.sqrt(closure.shape[1] * closure.shape[2] / 4096)))
    for t in range(n):
        sample = closure[t, ::step, ::step]  # the triplet's offset: a sample is enough
        sample = sample[np.isfinite(sample)]
        if sample.size == 0 and valid[t].any():
            sample = closure[t][valid[t]]
        if sample.size:
            median[t] = np.median(sample)
    residual = closure - median[:, None, None]
    residual = _smooth_surface(residual.astype(np.float32), valid)
    residual *= np.float32(1 / TWO_PI)  # cycles from here on; NaN stays NaN (never valid)
    wrapped = residual - np.rint(residual)
    residual -= _block_mean(wrapped, SMOOTH_BLOCK)
    cycles = np.rint(residual)
    with np.errstate(invalid="ignore"):
        integer = valid & (cycles != 0) & (np.abs(residual - cycles) < INTEGER_TOLERANCE)
    return np.where(integer, np.clip(cycles, -100, 100), 0).astype(np.int8), valid


def _drop_specks(cycles: np.ndarray, min_pixels: int) -> None:
    """Zero, in place, connected misclosed areas smaller than ``min_pixels`` (per triplet)."""
    flagged = cycles != 0
    rows_any = flagged.any(axis=2)
    cols_any = flagged.any(axis=1)
    for t in np.flatnonzero(rows_any.any(axis=1)):
        r = np.flatnonzero(rows_any[t])
        c = np.flatnonzero(cols_any[t])
        box = (t, slice(r[0], r[-1] + 1), slice(c[0], c[-1] + 1))  # only where it miscloses
        labels, count = ndimage.label(flagged[box])
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        small = sizes < min_pixels
        small[0] = False
        cycles[box][small[labels]] = 0


# ---- attribution ---------------------------------------------------------------------------------
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


# ---- the check -----------------------------------------------------------------------------------
def check_closure(stack: Stack, *, progress: Callable[[float], None] | None = None,
                  min_patch_pixels: int = MIN_PATCH_PIXELS,
                  memory_gb: float = MEMORY_GB) -> ClosureCheck:
    """Run the per-pixel closure check on every closed triplet of the stack.

    Reads every pair's phase once (unreferenced: a pair's constant offset only shifts a
    triplet's closure by a constant, which its median removes) and holds it in memory: a
    stack whose phase exceeds ``memory_gb`` is not checked (every pair "unchecked", and a
    note says why) rather than exhausting the machine.

    Parameters
    ----------
    progress
        Called with 0..1 as pairs are read and triplets closed.
    memory_gb
        Largest phase cube held, GiB.
    """
    pairs = [(p.date1, p.date2) for p in stack.pairs]
    triplets = closed_triplets(pairs)
    rows, cols = stack.grid.height, stack.grid.width
    n = stack.n_pairs
    needed = n * rows * cols * 4 / 2**30
    if needed > memory_gb:
        return unchecked(stack.pair_ids, triplets, (rows, cols),
                         f"the stack's phase ({needed:.1f} GiB) exceeds the closure check's "
                         f"memory budget ({memory_gb:g} GiB): not checked")
    phase = np.empty((n, rows, cols), dtype=np.float32)

    def read(i: int) -> None:
        phase[i] = read_or_missing(stack, i)  # an unreadable block counts as missing

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for done, _ in enumerate(pool.map(read, range(n)), start=1):
            if progress:
                progress(0.5 * done / n)
    return check_phase(phase, pairs, stack.pair_ids, triplets=triplets,
                       min_patch_pixels=min_patch_pixels,
                       progress=(lambda f: progress(0.5 + 0.5 * f)) if progress else None)


def unchecked(pair_ids: Sequence[str], triplets: list[tuple[int, int, int]],
              shape: tuple[int, int], why: str) -> ClosureCheck:
    """A check that did not run: every pair "unchecked", ``why`` in its notes."""
    zeros = np.zeros(shape, dtype=np.int16)
    return ClosureCheck(
        pair_ids=tuple(pair_ids), pairs={p: PairClosure("unchecked", 0, 0) for p in pair_ids},
        triplets=tuple(triplets), triplet_misclosed=np.zeros(len(triplets), np.int64),
        triplet_valid=np.zeros(len(triplets), np.int64), misclosed_count=zeros,
        triplet_count=zeros.copy(), notes=(why,))


def check_phase(phase: np.ndarray, pairs: list[tuple[date, date]], pair_ids: list[str], *,
                triplets: list[tuple[int, int, int]] | None = None,
                min_patch_pixels: int = MIN_PATCH_PIXELS,
                progress: Callable[[float], None] | None = None) -> ClosureCheck:
    """The closure check on phase already in memory.

    Parameters
    ----------
    phase
        Unwrapped phase, radians, shape (n_pairs, rows, cols), NaN missing; any constant
        offset per pair.
    pairs
        (date1, date2) per pair.
    pair_ids
        Id per pair.
    """
    triplets = closed_triplets(pairs) if triplets is None else triplets
    closures = _close_triplets(phase, triplets, min_patch_pixels, progress)
    valid_pixels = np.isfinite(phase).reshape(len(phase), -1).sum(axis=1)
    # A pair whose every closed triplet (two at least) miscloses over more than the share
    # that can be repaired carries a large error itself: it is dropped up front, and its
    # triplets are left out so that its errors do not blur who carries the small ones.
    large = _large_error_pairs(closures, len(pair_ids))
    dropped: set[int] = set(large)
    use = np.array([not dropped & set(t) for t in triplets], dtype=bool)
    results, unexplained, credit = _attribute_pass(closures, use, pair_ids, valid_pixels,
                                                   min_patch_pixels, phase)
    for i, share in large.items():
        mine = [t for t, members in enumerate(triplets) if i in members]
        misclosed = int((closures.misclosed[mine] >= min_patch_pixels).sum())
        results[pair_ids[i]] = PairClosure("dropped", len(mine), misclosed, (), share)
    notes: list[str] = []
    # Pairs found with errors too large to repair are left out too, and the pixels their
    # triplets misclosed attributed again.
    for _ in range(2):
        more = {i for i, pid in enumerate(pair_ids)
                if results[pid].verdict == "dropped"} - dropped
        if not more:
            break
        dropped |= more
        before = use
        use = np.array([not dropped & set(t) for t in triplets], dtype=bool)
        touched = closures.cycles[before & ~use].any(axis=0)
        again, unexplained, credit = _attribute_pass(
            closures, use, pair_ids, valid_pixels, min_patch_pixels, phase, credit, touched,
            results)
        for i, pid in enumerate(pair_ids):
            if i not in dropped:
                results[pid] = again[pid]
    if dropped:
        notes.append(f"{len(dropped)} pair(s) with errors too large to repair were left out "
                     "when attributing the others' errors")
    # Triplets with a dropped pair test nothing: pixels only they cover are untested.
    trusted = [t for t, u in zip(triplets, use) if u]
    n_islands = _add_untestable_islands(phase, trusted, pair_ids, results, valid_pixels,
                                        min_patch_pixels)
    if n_islands:
        notes.append(f"{n_islands} patch(es) where no closed triplet has data, found by the "
                     "pair's own 2 pi step around them: masked, not corrected")
    if progress:
        progress(1.0)
    return ClosureCheck(
        pair_ids=tuple(pair_ids), pairs=results, triplets=tuple(triplets),
        triplet_misclosed=closures.misclosed, triplet_valid=closures.valid_pixels,
        misclosed_count=closures.misclosed_count, triplet_count=closures.triplet_count,
        unexplained_pixels=unexplained, notes=tuple(notes))


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
class _Closures:
    """Every triplet's whole-cycle misclosure, kept compactly for the attribution passes."""

    triplets: list[tuple[int, int, int]]
    shape: tuple[int, int]
    n_pairs: int
    pixels: np.ndarray          # flat indices of pixels misclosed in some triplet
    cycles: np.ndarray          # (n_triplets, n_pixels) int16 at those pixels
    valid: np.ndarray           # (n_triplets, n_pixels) bool at those pixels
    misclosed: np.ndarray       # (n_triplets,) misclosed pixels
    valid_pixels: np.ndarray    # (n_triplets,) pixels with data
    misclosed_count: np.ndarray  # (rows, cols)
    triplet_count: np.ndarray    # (rows, cols)


def _close_triplets(phase: np.ndarray, triplets: list[tuple[int, int, int]],
                    min_patch_pixels: int, progress: Callable[[float], None] | None
                    ) -> _Closures:
    n, rows, cols = phase.shape
    misclosed_count = np.zeros((rows, cols), dtype=np.int16)
    triplet_count = np.zeros((rows, cols), dtype=np.int16)
    tri_misclosed = np.zeros(len(triplets), dtype=np.int64)
    tri_valid = np.zeros(len(triplets), dtype=np.int64)
    flagged_cycles: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # flat index, cycles
    valid_maps: list[np.ndarray] = []
    chunk_size = max(1, min(TRIPLET_CHUNK, int(2**25 // max(rows * cols, 1))))
    starts = range(0, len(triplets), chunk_size)

    def close(start: int) -> tuple[np.ndarray, np.ndarray]:
        chunk = triplets[start:start + chunk_size]
        a, b, c = (np.array(x) for x in zip(*chunk))
        cycles, valid = integer_misclosure(phase[a] + phase[b] - phase[c])
        _drop_specks(cycles, min(3, min_patch_pixels))
        return cycles, valid

    # numpy and ndimage release the GIL: two chunks at a time (the classifier uses two threads
    # too); what waits to be tallied is small (int8 cycles and a bool mask per triplet).
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for start, (cycles, valid) in zip(starts, pool.map(close, starts)):
            count = len(cycles)
            misclosed_count += (cycles != 0).sum(axis=0, dtype=np.int16)
            triplet_count += valid.sum(axis=0, dtype=np.int16)
            flat = cycles.reshape(count, -1)
            tri_misclosed[start:start + count] = (flat != 0).sum(1)
            tri_valid[start:start + count] = valid.reshape(count, -1).sum(1)
            for k in np.flatnonzero(flat.any(axis=1)):
                where = np.flatnonzero(flat[k])
                flagged_cycles[start + int(k)] = (where, flat[k, where])
            valid_maps.append(np.packbits(valid.reshape(count, -1), axis=1))
            if progress:
                progress(0.8 * min(1.0, (start + count) / max(len(triplets), 1)))
    return _gather(triplets, (rows, cols), n, misclosed_count, triplet_count, tri_misclosed,
                   tri_valid, flagged_cycles, valid_maps)


def _gather(triplets: list[tuple[int, int, int]], shape: tuple[int, int], n: int,
            misclosed_count: np.ndarray, triplet_count: np.ndarray, tri_misclosed: np.ndarray,
            tri_valid: np.ndarray, flagged_cycles: dict, valid_maps: list[np.ndarray]
            ) -> _Closures:
    """The misclosure at the pixels misclosed in some triplet, compactly."""
    rows, cols = shape
    pixels = np.flatnonzero(misclosed_count.ravel() > 0)
    cycles_f = np.zeros((len(triplets), len(pixels)), dtype=np.int16)
    valid_f = np.zeros((len(triplets), len(pixels)), dtype=bool)
    if len(pixels) and triplets:
        for t, (where, values) in flagged_cycles.items():
            cycles_f[t, np.searchsorted(pixels, where)] = values
        packed = np.concatenate(valid_maps, axis=0)
        valid_f = np.unpackbits(packed, axis=1, count=rows * cols)[:, pixels].astype(bool)
    return _Closures(list(triplets), (rows, cols), n, pixels, cycles_f, valid_f,
                     tri_misclosed, tri_valid, misclosed_count, triplet_count)


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
                    phase: np.ndarray | None = None, credit: _Credit | None = None,
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
        share = sum(x.n_pixels for x in patches) / max(int(valid_pixels[p]), 1)
        if not patches:
            verdict = "clean"
        elif share > MAX_REPAIR_SHARE:
            verdict = "dropped"
            patches = [Patch(**{**_fields(x), "action": "ignore"}) for x in patches]
        else:
            verdict = "repaired"
        results[pair_id] = PairClosure(verdict, int(in_triplets[p]),
                                       int(misclosed_triplets[p]), tuple(patches), share)
    return results, unexplained, credit


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


def _add_untestable_islands(phase: np.ndarray, triplets: list[tuple[int, int, int]],
                            pair_ids: list[str], results: dict[str, PairClosure],
                            valid_pixels: np.ndarray, min_pixels: int) -> int:
    """Mask-grade patches for the islands no closed triplet tests (:func:`untestable_islands`)
    of every checked pair that is not dropped (updates ``results``). Returns how many."""
    valid = np.isfinite(phase)
    by_pair: dict[int, list[tuple[int, int, int]]] = {}
    for t in triplets:
        for p in t:
            by_pair.setdefault(p, []).append(t)
    added = 0
    for p, pair_id in enumerate(pair_ids):
        result = results[pair_id]
        if result.verdict not in ("clean", "repaired") or p not in by_pair:
            continue
        testable = np.zeros(valid.shape[1:], dtype=bool)
        for a, b, c in by_pair[p]:
            testable |= valid[a] & valid[b] & valid[c]
        if (valid[p] & ~testable).sum() < min_pixels:
            continue
        known = np.zeros(valid.shape[1:], dtype=bool)
        for patch in result.patches:
            known |= patch.full_mask(*known.shape)
        largest = max(min_pixels, int(MAX_REPAIR_SHARE * valid_pixels[p]))
        new = []
        for mask, cycles, agreement in untestable_islands(
                phase[p], testable, max(min_pixels, ISLAND_MIN_PIXELS), largest):
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
        patches = [Patch(**{**_fields(x), "patch_id": i + 1}) for i, x in enumerate(patches)]
        share = sum(x.n_pixels for x in patches) / max(int(valid_pixels[p]), 1)
        verdict = "repaired"
        if share > MAX_REPAIR_SHARE:
            verdict = "dropped"
            patches = [Patch(**{**_fields(x), "action": "ignore"}) for x in patches]
        results[pair_id] = PairClosure(verdict, result.triplets, result.misclosed,
                                       tuple(patches), share)
        added += len(new)
    return added


#: A pair's own phase steps at a patch's edge by its cycles within this much (cycles), and
#: the other pairs of the triplet by at least 1 - this much.
EDGE_TOLERANCE = 0.3


def edge_step(phase: np.ndarray, inside: np.ndarray) -> float:
    """Median step of ``phase`` from just outside ``inside`` to its edge pixels, cycles (NaN
    where no edge pixel pair has data). ``phase`` and ``inside`` have shape (rows, cols)."""
    steps = _edge_steps(phase, inside)
    return float(np.median(steps)) if steps.size else float("nan")


def _credit_by_edge_step(phase: np.ndarray, triplets: list[tuple[int, int, int]],
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
                deviation = [abs(edge_step(phase[q, r0:r1, c0:c1], area_box) - k)
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


def _fields(patch: Patch) -> dict:
    return {name: getattr(patch, name) for name in patch.__dataclass_fields__}


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
    patches.sort(key=lambda x: (x.row0, x.col0))
    return [Patch(**{**_fields(x), "patch_id": i + 1}) for i, x in enumerate(patches)]


# ---- a user's correction, checked ----------------------------------------------------------------
def correction_effect(stack: Stack, pair_index: int, patch: Patch) -> tuple[int, int]:
    """Whole cycles of misclosure inside ``patch`` (summed over its pixels and the closed
    triplets of that pair) before and after correcting it by its cycles. A correction that
    does not lower the sum makes closure worse (or no better) and should be refused."""
    pairs = [(p.date1, p.date2) for p in stack.pairs]
    triplets = [t for t in closed_triplets(pairs) if pair_index in t]
    if not triplets:
        return 0, 0
    r0, r1 = patch.rows
    c0, c1 = patch.cols
    pad = SMOOTH_BLOCK
    window = Window(max(0, r0 - pad), max(0, c0 - pad),
                    min(stack.grid.height, r1 + 1 + pad) - max(0, r0 - pad),
                    min(stack.grid.width, c1 + 1 + pad) - max(0, c0 - pad))
    members = sorted({p for t in triplets for p in t})
    phase = {p: stack.read_phase(p, window, referenced=False) for p in members}
    inside = patch.window_mask(window)
    counts = []
    for shift in (0.0, TWO_PI * patch.cycles):
        corrected = dict(phase)
        corrected[pair_index] = np.where(inside, phase[pair_index] - shift, phase[pair_index])
        closure = np.stack([corrected[a] + corrected[b] - corrected[c] for a, b, c in triplets])
        cycles, _ = integer_misclosure(closure)
        counts.append(int(np.abs(cycles[:, inside]).sum()))
    return counts[0], counts[1]
