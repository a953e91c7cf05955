"""The closure check of a stack (or of phase in memory), and a correction's effect on it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import numpy as np

from ..network import closed_triplets
from ..repairs import TWO_PI, Patch
from ..stack import Stack
from ..stack_types import Window
from .attribution import _attribute_pass, _large_error_pairs
from .edges import _add_untestable_islands
from .misclosure import _close_triplets, integer_misclosure
from .params import MEMORY_GB, MIN_PATCH_PIXELS, SMOOTH_BLOCK, THREADS
from .phase_access import InMemoryPhase, PhaseAccess, StreamedPhase, read_or_missing
from .results import ClosureCheck, PairClosure

logger = logging.getLogger(__name__)


def phase_cube_fits(stack: Stack, memory_gb: float = MEMORY_GB) -> bool:
    """Whether every pair's phase fits the closure check's memory budget (then it is read
    into memory at once; otherwise it is streamed, :class:`.phase_access.StreamedPhase`)."""
    return stack.n_pairs * stack.grid.height * stack.grid.width * 4 / 2**30 <= memory_gb


def check_closure(stack: Stack, *, progress: Callable[[float], None] | None = None,
                  min_patch_pixels: int = MIN_PATCH_PIXELS,
                  memory_gb: float = MEMORY_GB,
                  phase: np.ndarray | None = None) -> ClosureCheck:
    """Run the per-pixel closure check on every closed triplet of the stack.

    Reads every pair's phase (unreferenced: a pair's constant offset only shifts a triplet's
    closure by a constant, which its median removes). Where every pair's phase fits
    ``memory_gb`` it is read once and held; a larger stack (a Sentinel-1 frame) is streamed:
    pairs are read as the triplets need them and the most recently used kept within half the
    budget (the rest goes to closing triplets and to the validity of every pair, packed to
    bits). Both give the same results.

    Parameters
    ----------
    progress
        Called with 0..1 as pairs are read and triplets closed.
    memory_gb
        Largest phase cube held, GiB; above it, the phase is streamed within it.
    phase
        Every pair's unreferenced phase, already read (radians, shape (n_pairs, rows, cols)):
        a caller that reads the pairs anyway spares the second read.
    """
    pairs = [(p.date1, p.date2) for p in stack.pairs]
    triplets = closed_triplets(pairs)
    rows, cols = stack.grid.height, stack.grid.width
    n = stack.n_pairs
    if phase is None and not phase_cube_fits(stack, memory_gb):
        streamed = StreamedPhase(stack, cache_bytes=memory_gb * 2**30 / 2)
        logger.info("closure check of %s streamed: %d pairs, at most %d in memory", stack.path,
                    n, streamed.capacity)
        return _check(streamed, pairs, stack.pair_ids, triplets, min_patch_pixels, progress)
    if phase is None:
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
    return _check(InMemoryPhase(phase), pairs, pair_ids, triplets, min_patch_pixels, progress)


def _check(phase: PhaseAccess, pairs: list[tuple[date, date]], pair_ids: list[str],
           triplets: list[tuple[int, int, int]], min_patch_pixels: int,
           progress: Callable[[float], None] | None) -> ClosureCheck:
    """The closure check, wherever the phase is (:mod:`.phase_access`)."""
    closures = _close_triplets(phase, triplets, min_patch_pixels, progress)
    valid_pixels = phase.valid_pixels()
    # A pair whose every closed triplet (two at least) miscloses over more than the share
    # that can be repaired carries a large error itself: it is dropped up front, and its
    # triplets are left out so that its errors do not blur who carries the small ones.
    large = _large_error_pairs(closures, len(pair_ids))
    dropped: set[int] = set(large)
    use = np.array([not dropped & set(t) for t in triplets], dtype=bool)
    closures.gather(use, phase)  # later passes use fewer triplets: these columns hold them
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
