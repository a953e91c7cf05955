"""What the peer processes of ``make bench-sbas`` share: the kept pairs, read with GDAL.

Imported by ``floor.py``, ``peer_insar_rs.py`` and ``peer_dolphin.py``, which run in their own
venvs (numpy and Debian's GDAL only here: never this project's package, so that a peer's time
is the peer's own).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import numpy as np
from osgeo import gdal

_DATE = re.compile(r"(?<!\d)(\d{8})(?:T\d{6})?(?!\d)")


def kept_files(kept_list: str | Path) -> list[str]:
    """The phase rasters of the kept pairs, one path a line in ``kept_list``."""
    return Path(kept_list).read_text().split()


def pair_dates(path: str) -> tuple[date, date]:
    """The two dates in a file name (``..._20190104T120000_20190116T..._unw_phase.tif``)."""
    found = [date(int(d[:4]), int(d[4:6]), int(d[6:])) for d in _DATE.findall(Path(path).name)]
    return found[0], found[1]


def read_phase(files: list[str]) -> tuple[np.ndarray, gdal.Dataset]:
    """Unwrapped phase of every file, radians, NaN where the band's nodata is, float32, shape
    (n_pairs, rows, cols); and the first file's dataset (its grid)."""
    gdal.UseExceptions()
    first = gdal.Open(files[0])
    phase = np.empty((len(files), first.RasterYSize, first.RasterXSize), np.float32)
    for k, name in enumerate(files):
        dataset = gdal.Open(name)  # held: a band outlives no dataset
        band = dataset.GetRasterBand(1)
        phase[k] = band.ReadAsArray()
        nodata = band.GetNoDataValue()
        if nodata is not None:
            phase[k][phase[k] == nodata] = np.nan
    return phase, first


def write_float_geotiff(path: Path, values: np.ndarray, like: gdal.Dataset, units: str) -> None:
    """One float32 band, NaN nodata, on the grid of ``like``."""
    out = gdal.GetDriverByName("GTiff").Create(str(path), values.shape[1], values.shape[0], 1,
                                               gdal.GDT_Float32)
    out.SetGeoTransform(like.GetGeoTransform())
    out.SetProjection(like.GetProjection())
    band = out.GetRasterBand(1)
    band.SetNoDataValue(float("nan"))
    band.SetUnitType(units)
    band.WriteArray(values.astype(np.float32))
    out.FlushCache()
