"""What the map shows of an interferogram: its phase re-referenced, and re-wrapped to -pi..pi.

Each pair of a stack may carry its own reference (HyP3) or a constant 2 pi k offset, so the raw
values say nothing to an analyst: the map shows the phase minus its value at a reference (the
reference point chosen for the inversion, else the pair's median), as two bands of a small
GeoTIFF written in the user's data folder (the stack's files are never touched):

- band 1: the re-referenced unwrapped phase, radians (0 at the reference);
- band 2: the same, re-wrapped to [-pi, pi) radians (fringes; integer jumps vanish).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .paths import user_data_folder
from .raster_io import write_geotiff

if TYPE_CHECKING:
    from .sources import RasterSource
    from .stack import Stack
    from .stack_types import Grid

UNWRAPPED_BAND, WRAPPED_BAND = 1, 2


def reference_value(phase: np.ndarray, pixel: tuple[int, int] | None = None,
                    half: int = 2) -> float:
    """The phase to subtract: the median of the valid pixels within ``half`` pixels of
    ``pixel`` (row, col), or of the whole pair when there is no pixel or no data near it.

    Parameters
    ----------
    phase
        Unwrapped phase, radians, shape (rows, cols), NaN where missing.
    """
    if pixel is not None:
        row, col = pixel
        patch = phase[max(row - half, 0):row + half + 1, max(col - half, 0):col + half + 1]
        if np.isfinite(patch).any():
            return float(np.nanmedian(patch))
    if not np.isfinite(phase).any():
        return 0.0
    return float(np.nanmedian(phase))


def rewrap(phase: np.ndarray) -> np.ndarray:
    """Phase wrapped to [-pi, pi), radians, same shape; NaN stays NaN."""
    return (phase + np.float32(math.pi)) % np.float32(2 * math.pi) - np.float32(math.pi)


def display_bands(phase: np.ndarray, reference_rad: float) -> np.ndarray:
    """Re-referenced unwrapped and re-wrapped phase, radians, float32, shape (2, rows, cols)."""
    referenced = (phase - np.float32(reference_rad)).astype(np.float32)
    return np.stack([referenced, rewrap(referenced)])


def symmetric_phase_limit(phase: np.ndarray, percentile: float = 98.0) -> float:
    """Half-width, radians, of a colour ramp centred on zero that holds ``percentile`` % of
    the valid |phase| (at least pi)."""
    finite = np.abs(phase[np.isfinite(phase)])
    if finite.size == 0:
        return math.pi
    return max(float(np.percentile(finite, percentile)), math.pi)


def display_raster_path(stack: Stack, index: int,
                        reference_pixel: tuple[int, int] | None = None) -> Path:
    """Where pair ``index``'s display bands are kept (the user's data folder)."""
    tag = "median" if reference_pixel is None else f"r{reference_pixel[0]}c{reference_pixel[1]}"
    return user_data_folder("display", stack.path) / f"{stack.pairs[index].pair_id}_{tag}.tif"


def write_display_bands(source: RasterSource, grid: Grid, path: Path,
                        reference_pixel: tuple[int, int] | None = None,
                        progress: Callable[[int, int], None] | None = None) -> float:
    """Read one pair's unwrapped phase from ``source`` and write its display bands (see the
    module) to ``path`` unless it is there already. Plain values only: runs in a background
    task for large rasters (a 2,500 x 3,000 px frame takes seconds).

    Returns
    -------
    float
        The half-width in radians of a zero-centred ramp for the unwrapped band
        (:func:`symmetric_phase_limit`).
    """
    steps = 3
    if progress is not None:
        progress(0, steps)
    phase = source.read(grid.full_window)
    if progress is not None:
        progress(1, steps)
    bands = display_bands(phase, reference_value(phase, reference_pixel))
    limit = symmetric_phase_limit(bands[0])
    if progress is not None:
        progress(2, steps)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_geotiff(path, bands, grid,
                      band_descriptions=("unwrapped phase, re-referenced (rad)",
                                         "phase re-wrapped to -pi..pi (rad)"))
    if progress is not None:
        progress(steps, steps)
    return limit


def write_display_raster(stack: Stack, index: int,
                         reference_pixel: tuple[int, int] | None = None) -> tuple[Path, float]:
    """Write pair ``index``'s display bands (see the module) in the user's data folder.

    Returns
    -------
    (path, limit)
        The two-band GeoTIFF, and the half-width in radians of a zero-centred ramp for its
        unwrapped band (:func:`symmetric_phase_limit`).
    """
    path = display_raster_path(stack, index, reference_pixel)
    limit = write_display_bands(stack.source(index, "phase"), stack.grid, path, reference_pixel)
    return path, limit
