"""Reading the inversion's outputs back: one pixel's time series for plotting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from ..dates import parse_yyyymmdd
from ..errors import StackError
from .commit import recover


@dataclass(frozen=True)
class PixelSeries:
    """Displacement history of one pixel.

    Attributes
    ----------
    dates
        Acquisition dates, length n_dates.
    displacement_mm
        LOS displacement since the first date, mm, shape (n_dates,); NaN where unsolved.
    velocity_mm_yr
        Linear LOS velocity, mm/yr (NaN when unknown).
    """

    row: int
    col: int
    dates: tuple[date, ...]
    displacement_mm: np.ndarray
    velocity_mm_yr: float


def read_pixel_series(out_dir: str | Path, row: int, col: int) -> PixelSeries:
    """Read one pixel of ``timeseries.tif`` (and ``velocity.tif``) in an inversion folder.

    Raises
    ------
    StackError
        When the files are missing or the pixel is outside the grid.
    """
    from osgeo import gdal

    gdal.UseExceptions()
    out_dir = Path(out_dir)
    try:  # a run killed while committing: its complete set is moved into place first
        recover(out_dir)
    except OSError:  # a read-only folder: read what is there
        pass
    path = out_dir / "timeseries.tif"
    try:
        dataset = gdal.Open(str(path))
    except RuntimeError as exc:
        raise StackError(path, f"cannot open the time series ({exc})") from exc
    if not (0 <= row < dataset.RasterYSize and 0 <= col < dataset.RasterXSize):
        raise StackError(path, f"pixel ({row}, {col}) is outside the grid")
    values = dataset.ReadAsArray(col, row, 1, 1).reshape(-1).astype(float)
    dates = tuple(parse_yyyymmdd(dataset.GetRasterBand(b + 1).GetDescription())
                  for b in range(dataset.RasterCount))
    velocity = float("nan")
    velocity_path = out_dir / "velocity.tif"
    if velocity_path.is_file():
        velocity = float(gdal.Open(str(velocity_path)).ReadAsArray(col, row, 1, 1)[0, 0])
    return PixelSeries(row=row, col=col, dates=dates, displacement_mm=np.asarray(values),
                       velocity_mm_yr=velocity)
