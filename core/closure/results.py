"""What the closure check says: per pair (:class:`PairClosure`) and for the stack
(:class:`ClosureCheck`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..repairs import Patch
from .params import MAX_REPAIR_SHARE

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


def unchecked(pair_ids: Sequence[str], triplets: list[tuple[int, int, int]],
              shape: tuple[int, int], why: str) -> ClosureCheck:
    """A check that did not run: every pair "unchecked", ``why`` in its notes."""
    zeros = np.zeros(shape, dtype=np.int16)
    return ClosureCheck(
        pair_ids=tuple(pair_ids), pairs={p: PairClosure("unchecked", 0, 0) for p in pair_ids},
        triplets=tuple(triplets), triplet_misclosed=np.zeros(len(triplets), np.int64),
        triplet_valid=np.zeros(len(triplets), np.int64), misclosed_count=zeros,
        triplet_count=zeros.copy(), notes=(why,))


def judge(patches: Sequence[Patch], n_valid: int, triplets: int, misclosed: int
          ) -> PairClosure:
    """A checked pair's verdict from its patches: "clean" without any, "dropped" (every patch
    ignored) above :data:`~.params.MAX_REPAIR_SHARE` of its ``n_valid`` pixels, else
    "repaired"; patches numbered 1, 2, ... in the order given."""
    numbered = [replace(x, patch_id=k + 1) for k, x in enumerate(patches)]
    share = sum(x.n_pixels for x in numbered) / max(int(n_valid), 1)
    if not numbered:
        return PairClosure("clean", triplets, misclosed)
    if share > MAX_REPAIR_SHARE:
        return PairClosure("dropped", triplets, misclosed,
                           tuple(replace(x, action="ignore") for x in numbered), share)
    return PairClosure("repaired", triplets, misclosed, tuple(numbered), share)
