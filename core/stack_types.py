"""Small value types shared by the stack model and its sources."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path

from .dates import pair_id


@dataclass(frozen=True)
class Window:
    """A rectangular window of the stack's grid, in pixels (row/col of the upper-left pixel)."""

    row: int
    col: int
    rows: int
    cols: int

    def __post_init__(self) -> None:
        if self.row < 0 or self.col < 0 or self.rows < 1 or self.cols < 1:
            raise ValueError(f"invalid window {self}")


@dataclass(frozen=True)
class Grid:
    """The stack's raster grid.

    Parameters
    ----------
    width, height
        Size in pixels (columns, rows).
    geotransform
        GDAL geotransform (x0, dx, 0, y0, 0, dy) of the upper-left pixel's corner.
    crs_wkt
        Coordinate reference system as WKT ("" when the stack is in radar coordinates).
    """

    width: int
    height: int
    geotransform: tuple[float, float, float, float, float, float]
    crs_wkt: str

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1:
            raise ValueError(f"grid size must be positive, got {self.width}x{self.height}")

    @property
    def full_window(self) -> Window:
        return Window(0, 0, self.height, self.width)

    @property
    def epsg(self) -> int | None:
        """EPSG code of the CRS, when it has one."""
        if not self.crs_wkt:
            return None
        from osgeo import osr

        srs = osr.SpatialReference()
        srs.ImportFromWkt(self.crs_wkt)
        srs.AutoIdentifyEPSG()
        code = srs.GetAuthorityCode(None)
        return int(code) if code else None

    @property
    def is_geographic(self) -> bool:
        if not self.crs_wkt:
            return False
        from osgeo import osr

        srs = osr.SpatialReference()
        srs.ImportFromWkt(self.crs_wkt)
        return bool(srs.IsGeographic())

    def pixel_to_xy(self, row: float, col: float) -> tuple[float, float]:
        """Map coordinates of a pixel's centre."""
        x0, dx, _, y0, _, dy = self.geotransform
        return x0 + (col + 0.5) * dx, y0 + (row + 0.5) * dy

    def xy_to_pixel(self, x: float, y: float) -> tuple[int, int]:
        """(row, col) of the pixel containing map coordinates (x, y)."""
        x0, dx, _, y0, _, dy = self.geotransform
        return int((y - y0) // dy), int((x - x0) // dx)


@dataclass(frozen=True)
class Pair:
    """One interferogram: its dates (date1 < date2) and perpendicular baseline (metres)."""

    date1: date
    date2: date
    bperp_m: float

    def __post_init__(self) -> None:
        if self.date1 >= self.date2:
            raise ValueError(f"pair {self.date1}..{self.date2}: date1 must be before date2")

    @cached_property
    def pair_id(self) -> str:
        """``YYYYMMDD_YYYYMMDD``, formatted once (views ask for it per row and per paint)."""
        return pair_id(self.date1, self.date2)

    @property
    def days(self) -> int:
        return (self.date2 - self.date1).days


@dataclass(frozen=True)
class SkippedFile:
    """A file a reader could not use, and why; the rest of the stack still loads."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def lonlat_to_pixel(grid: Grid, lon: float, lat: float) -> tuple[int, int]:
    """(row, col) of the pixel holding a WGS84 longitude/latitude."""
    if not grid.crs_wkt:
        raise ValueError("the stack is in radar coordinates: give the reference as ROW,COL")
    from osgeo import osr

    wgs84, target = osr.SpatialReference(), osr.SpatialReference()
    wgs84.ImportFromEPSG(4326)
    target.ImportFromWkt(grid.crs_wkt)
    for srs in (wgs84, target):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    x, y, _ = osr.CoordinateTransformation(wgs84, target).TransformPoint(lon, lat)
    return grid.xy_to_pixel(x, y)
