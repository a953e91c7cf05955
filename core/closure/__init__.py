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

Modules: :mod:`.misclosure` (each triplet's whole cycles), :mod:`.attribution` (who carries
them, and the patches), :mod:`.edges` (a pair's own 2 pi steps: the tie-breaker for areas one
triplet tests, and islands no triplet tests), :mod:`.check` (the whole check),
:mod:`.results`, :mod:`.params`.
"""

from .check import check_closure, check_phase, correction_effect, phase_cube_fits
from .edges import edge_step, untestable_islands
from .misclosure import integer_misclosure
from .params import (
    CORRECT_SHARE,
    EDGE_TOLERANCE,
    INTEGER_TOLERANCE,
    ISLAND_MIN_PIXELS,
    MAX_REPAIR_SHARE,
    MEMORY_GB,
    MIN_AGREEMENT,
    MIN_PATCH_PIXELS,
    MIN_SUPPORT_TO_CORRECT,
    ROUNDS,
    SMOOTH_BLOCK,
    THREADS,
    TRIPLET_CHUNK,
)
from .results import VERDICTS, ClosureCheck, PairClosure, unchecked

__all__ = [
    "CORRECT_SHARE", "EDGE_TOLERANCE", "INTEGER_TOLERANCE", "ISLAND_MIN_PIXELS",
    "MAX_REPAIR_SHARE", "MEMORY_GB", "MIN_AGREEMENT", "MIN_PATCH_PIXELS",
    "MIN_SUPPORT_TO_CORRECT", "ROUNDS", "SMOOTH_BLOCK", "THREADS", "TRIPLET_CHUNK", "VERDICTS",
    "ClosureCheck", "PairClosure", "check_closure", "check_phase", "correction_effect",
    "edge_step", "integer_misclosure", "phase_cube_fits", "unchecked", "untestable_islands",
]
