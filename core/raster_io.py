"""Writing GeoTIFFs: float32, NaN (or a given) nodata, atomically (temporary name + rename)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .stack_types import Grid

_GDAL_TYPES = {"float32": 6, "float64": 7, "uint8": 1, "int16": 3, "int32": 5}


def write_geotiff(
    path: str | Path,
    array: np.ndarray,
    grid: Grid,
    *,
    nodata: float | None = float("nan"),
    tags: dict[str, str] | None = None,
    band_descriptions: Sequence[str] | None = None,
    band_tags: Sequence[dict[str, str]] | None = None,
    compress: bool = True,
) -> Path:
    """Write a 2-D (rows, cols) or 3-D (bands, rows, cols) array as a tiled GeoTIFF.

    The file appears under its final name only once complete.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from osgeo import gdal

    gdal.UseExceptions()
    path = Path(path)
    data = array[np.newaxis] if array.ndim == 2 else array
    n_bands, rows, cols = data.shape
    if (rows, cols) != (grid.height, grid.width):
        raise ValueError(f"array {rows}x{cols} does not match grid {grid.height}x{grid.width}")
    dtype = str(data.dtype)
    if dtype not in _GDAL_TYPES:
        data = data.astype(np.float32)
        dtype = "float32"
    options = ["TILED=YES", "BLOCKXSIZE=256", "BLOCKYSIZE=256"]
    if compress:
        options += ["COMPRESS=DEFLATE", "PREDICTOR=3" if dtype.startswith("float") else
                    "PREDICTOR=2"]
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.part")
    driver = gdal.GetDriverByName("GTiff")
    dataset = driver.Create(str(temporary), cols, rows, n_bands, _GDAL_TYPES[dtype], options)
    try:
        dataset.SetGeoTransform(list(grid.geotransform))
        if grid.crs_wkt:
            dataset.SetProjection(grid.crs_wkt)
        if tags:
            dataset.SetMetadata({k: str(v) for k, v in tags.items()})
        for b in range(n_bands):
            band = dataset.GetRasterBand(b + 1)
            if nodata is not None:
                band.SetNoDataValue(float(nodata))
            if band_descriptions is not None:
                band.SetDescription(str(band_descriptions[b]))
            if band_tags is not None:
                band.SetMetadata({k: str(v) for k, v in band_tags[b].items()})
            band.WriteArray(data[b])
        dataset.FlushCache()
    finally:
        dataset = None
    os.replace(temporary, path)
    return path


def crs_wkt_from_epsg(epsg: int) -> str:
    """WKT of an EPSG code."""
    from osgeo import osr

    srs = osr.SpatialReference()
    srs.ImportFromEPSG(int(epsg))
    return srs.ExportToWkt()
