"""Repairs of small local unwrapping errors: one patch of one pair, corrected by an integer
number of cycles or masked, applied on the fly when a pair's phase is read.

A :class:`Patch` is what the closure check (:mod:`.closure`) found in a pair: its pixels (a
boolean mask inside a bounding box), its integer cycles, how sure the check is, and what is done
with it (``action``: "correct", "mask" or "ignore") and who decided (``source``: "auto" or
"user"). Repairs never touch the user's files: :func:`repaired_stack` wraps each pair's raster
source so that whatever reads the stack (the classifier, the inversion, the corrected-stack
export) reads the repaired phase.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .sources import RasterSource, read_into
from .stack import Stack
from .stack_types import Window

TWO_PI = 2.0 * np.pi
ACTIONS = ("correct", "mask", "ignore")
SOURCES = ("auto", "user")


@dataclass(frozen=True)
class Patch:
    """One patch of an integer-cycle unwrapping error in one pair.

    Attributes
    ----------
    patch_id
        Number of the patch within its pair (1, 2, ...).
    row0, col0
        Upper-left pixel of the bounding box.
    mask
        The patch's pixels inside the bounding box, bool, shape (box rows, box cols).
    cycles
        Integer number of cycles the unwrapper added (the correction subtracts
        ``2 pi * cycles``).
    confidence
        0..1: share of the pair's closed triplets over the patch that agree, times how close
        the misclosure is to a whole cycle.
    support
        Closed triplets that show the error (median over the patch's pixels).
    checked
        Closed triplets of this pair with data over the patch (median).
    proposed
        What the check proposes: "correct" where the evidence is unambiguous, "mask" where
        it is not.
    action
        What is applied: "correct", "mask" or "ignore".
    source
        "auto" (the check's proposal) or "user" (the analyst's decision).
    """

    patch_id: int
    row0: int
    col0: int
    mask: np.ndarray
    cycles: int
    confidence: float
    support: int
    checked: int
    proposed: str
    action: str
    source: str = "auto"

    def __post_init__(self) -> None:
        if self.action not in ACTIONS or self.proposed not in ACTIONS:
            raise ValueError(f"patch action must be one of {ACTIONS}")
        if self.source not in SOURCES:
            raise ValueError(f"patch source must be one of {SOURCES}")
        if self.mask.ndim != 2 or self.mask.dtype != bool or not self.mask.any():
            raise ValueError("patch mask must be a non-empty 2-D boolean array")
        if self.row0 < 0 or self.col0 < 0:
            raise ValueError("patch box must start inside the grid")

    # ---- geometry ------------------------------------------------------------------------
    @property
    def n_pixels(self) -> int:
        return int(self.mask.sum())

    @property
    def rows(self) -> tuple[int, int]:
        """First and last row (inclusive)."""
        return self.row0, self.row0 + self.mask.shape[0] - 1

    @property
    def cols(self) -> tuple[int, int]:
        """First and last column (inclusive)."""
        return self.col0, self.col0 + self.mask.shape[1] - 1

    def full_mask(self, height: int, width: int) -> np.ndarray:
        """The patch as a mask of the whole grid, bool, shape (height, width)."""
        out = np.zeros((height, width), dtype=bool)
        rows, cols = self.mask.shape
        out[self.row0:self.row0 + rows, self.col0:self.col0 + cols] = self.mask
        return out

    def window_mask(self, window: Window) -> np.ndarray | None:
        """The patch's pixels inside ``window``, shape (window.rows, window.cols); None when
        the patch does not reach the window."""
        r0, c0 = max(self.row0, window.row), max(self.col0, window.col)
        r1 = min(self.row0 + self.mask.shape[0], window.row + window.rows)
        c1 = min(self.col0 + self.mask.shape[1], window.col + window.cols)
        if r0 >= r1 or c0 >= c1:
            return None
        out = np.zeros((window.rows, window.cols), dtype=bool)
        out[r0 - window.row:r1 - window.row, c0 - window.col:c1 - window.col] = \
            self.mask[r0 - self.row0:r1 - self.row0, c0 - self.col0:c1 - self.col0]
        return out if out.any() else None

    # ---- words and storage ---------------------------------------------------------------
    def describe(self) -> str:
        """E.g. "16 px at rows 32-39, cols 28-32, +1 cycle, corrected"."""
        done = {"correct": "corrected", "mask": "masked", "ignore": "ignored"}[self.action]
        if self.source == "user":
            done += " by the analyst"
        cycles = f"{self.cycles:+d} cycle{'s' if abs(self.cycles) != 1 else ''}"
        return (f"{self.n_pixels} px at rows {self.rows[0]}-{self.rows[1]}, cols "
                f"{self.cols[0]}-{self.cols[1]}, {cycles}, {done}")

    def with_action(self, action: str, source: str = "user") -> Patch:
        return replace(self, action=action, source=source)

    def same_pixels(self, other: Patch) -> bool:
        return (self.row0, self.col0) == (other.row0, other.col0) and \
            self.mask.shape == other.mask.shape and bool(np.array_equal(self.mask, other.mask))

    def to_json(self) -> dict[str, Any]:
        packed = np.packbits(self.mask.ravel())
        return {"patch_id": self.patch_id, "row0": self.row0, "col0": self.col0,
                "rows": int(self.mask.shape[0]), "cols": int(self.mask.shape[1]),
                "mask": base64.b64encode(packed.tobytes()).decode("ascii"),
                "n_pixels": self.n_pixels, "cycles": self.cycles,
                "confidence": round(float(self.confidence), 3), "support": self.support,
                "checked": self.checked, "proposed": self.proposed, "action": self.action,
                "source": self.source}

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> Patch:
        """Raises ValueError (or TypeError/KeyError) when the item is malformed."""
        rows, cols = int(item["rows"]), int(item["cols"])
        if not (0 < rows <= 100_000 and 0 < cols <= 100_000):
            raise ValueError(f"patch box {rows}x{cols} is not plausible")
        packed = np.frombuffer(base64.b64decode(str(item["mask"]), validate=True), np.uint8)
        if packed.size * 8 < rows * cols:
            raise ValueError("patch mask is shorter than its box")
        mask = np.unpackbits(packed)[:rows * cols].astype(bool).reshape(rows, cols)
        confidence = float(item.get("confidence", 0.0))
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"patch confidence {confidence} is not within 0..1")
        cycles = int(item["cycles"])
        if cycles == 0 or abs(cycles) > 50:
            raise ValueError(f"patch cycles {cycles} is not plausible")
        return cls(patch_id=int(item["patch_id"]), row0=int(item["row0"]),
                   col0=int(item["col0"]), mask=mask, cycles=cycles, confidence=confidence,
                   support=int(item.get("support", 0)), checked=int(item.get("checked", 0)),
                   proposed=str(item.get("proposed", item["action"])),
                   action=str(item["action"]), source=str(item.get("source", "auto")))


def merged_repairs(found: Mapping[str, Sequence[Patch]],
                   decisions: Mapping[str, Sequence[Patch]] | None = None
                   ) -> dict[str, list[Patch]]:
    """Per pair, the patches a closure check ``found`` with the analyst's earlier decisions on
    the same pixels kept (``decisions``: per pair, its patches so far; those the analyst decided
    count). A patch the analyst decided that the check no longer finds is kept as it is: a
    decision is never lost. Patches are numbered 1, 2, ... per pair."""
    out: dict[str, list[Patch]] = {}
    for pair_id, patches_found in found.items():
        previous = [p for p in (decisions or {}).get(pair_id, ()) if p.source == "user"]
        patches = []
        for patch in patches_found:
            decided = next((p for p in previous if p.same_pixels(patch)), None)
            patches.append(patch if decided is None
                           else patch.with_action(decided.action, "user"))
        patches += [p for p in previous if not any(p.same_pixels(q) for q in patches)]
        out[pair_id] = [replace(p, patch_id=k + 1) for k, p in enumerate(patches)]
    return out


def describe_patches(patches: Sequence[Patch]) -> str:
    """All of a pair's patches in words ("" when none)."""
    if not patches:
        return ""
    return "; ".join(f"unwrapping error: {p.describe()}" for p in patches)


@dataclass(frozen=True)
class RepairedSource:
    """A pair's raster source with its patches applied: corrected patches shifted by
    ``-2 pi * cycles``, masked ones NaN, ignored ones untouched (picklable, like every source).
    """

    base: RasterSource
    patches: tuple[Patch, ...]

    def read(self, window: Window) -> np.ndarray:
        values = self.base.read(window)
        self._apply(window, values)
        return values

    def read_into(self, window: Window, out: np.ndarray) -> None:
        """As :meth:`read`, into ``out`` (float32, shape (rows, cols))."""
        read_into(self.base, window, out)
        self._apply(window, out)

    def _apply(self, window: Window, values: np.ndarray) -> None:
        for patch in self.patches:
            if patch.action == "ignore":
                continue
            inside = patch.window_mask(window)
            if inside is None:
                continue
            if patch.action == "correct":
                values[inside] -= np.float32(TWO_PI * patch.cycles)
            else:
                values[inside] = np.nan


def active(patches: Iterable[Patch]) -> tuple[Patch, ...]:
    """The patches that change the phase (corrected or masked)."""
    return tuple(p for p in patches if p.action != "ignore")


def repaired_stack(stack: Stack, repairs: Mapping[str, Sequence[Patch]]) -> Stack:
    """The stack as its readers should see it once the repairs are applied (the files are
    never touched). Returns ``stack`` itself when no repair changes any phase."""
    sources: list[RasterSource] = []
    changed = False
    for index, pair_id in enumerate(stack.pair_ids):
        base = stack.source(index)
        patches = active(repairs.get(pair_id, ()))
        if patches:
            sources.append(RepairedSource(base, patches))
            changed = True
        else:
            sources.append(base)
    return stack.with_phase_sources(sources) if changed else stack
