"""Options of the SBAS inversion, validated once."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Weighting(StrEnum):
    """How pairs are weighted in the least squares."""

    NONE = "none"
    COHERENCE = "coherence"  # inverse phase variance from coherence (MintPy's "var")


@dataclass(frozen=True)
class InversionOptions:
    """SBAS inversion settings.

    Parameters
    ----------
    weighting
        "none" (ordinary least squares) or "coherence" (inverse phase variance).
    min_pairs
        Pixels with fewer valid pairs are left NaN (and counted).
    reference_pixel
        (row, col) of the reference; None chooses one (valid in every kept pair, highest mean
        coherence).
    memory_gb
        Budget for the arrays of one block, GiB; blocks of rows are sized to stay within it.
    looks
        Number of looks behind the coherence, for the phase variance of the weights.
    bridge_gaps
        Tie the pieces of a split network with a weak temporal model (NSBAS-like: each
        interval's velocity pulled toward one linear velocity with weight ``bridge_weight``
        relative to the pairs) instead of the minimum-norm zero velocity across a gap.
    bridge_seasonal
        Add an annual sine and cosine to that model.
    robust
        Iteratively reweighted least squares: per pixel, pairs whose residual is large against
        the pixel's robust residual scale lose weight (Huber), so a bad pair that slipped
        through the selection cannot pull the whole time series.
    """

    weighting: Weighting = Weighting.NONE
    min_pairs: int = 1
    reference_pixel: tuple[int, int] | None = None
    memory_gb: float = 1.0
    looks: float = 20.0
    bridge_gaps: bool = False
    bridge_weight: float = 0.01
    bridge_seasonal: bool = False
    robust: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "weighting", Weighting(self.weighting))
        if self.min_pairs < 1:
            raise ValueError(f"min_pairs must be at least 1, got {self.min_pairs}")
        if not 0 < self.memory_gb < float("inf"):
            raise ValueError(f"memory_gb must be positive, got {self.memory_gb}")
        if self.looks <= 0:
            raise ValueError("looks must be positive")
        if self.bridge_weight <= 0:
            raise ValueError("bridge_weight must be positive")
