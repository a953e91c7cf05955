"""A GeoPackage of points for the InSAR Explorer QGIS plugin: one point per solved pixel with
``VEL`` (mm/yr), ``V_STDEV``, ``TCOH``, ``N_PAIRS`` and one ``DYYYYMMDD`` field (mm) per date."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def write_points_gpkg(out_dir: str | Path, *, min_temporal_coherence: float = 0.0,
                      name: str = "insar_explorer.gpkg", block_rows: int = 256) -> Path:
    """Write the inversion outputs of ``out_dir`` as points (written atomically).

    Parameters
    ----------
    min_temporal_coherence
        Pixels whose temporal coherence is below this are left out.

    Returns
    -------
    pathlib.Path
        The GeoPackage.
    """
    from osgeo import gdal, ogr, osr

    gdal.UseExceptions()
    ogr.UseExceptions()
    out_dir = Path(out_dir)
    velocity_ds = gdal.Open(str(out_dir / "velocity.tif"))
    series_ds = gdal.Open(str(out_dir / "timeseries.tif"))
    std_ds = gdal.Open(str(out_dir / "velocity_std.tif"))
    coherence_ds = gdal.Open(str(out_dir / "temporal_coherence.tif"))
    pairs_ds = gdal.Open(str(out_dir / "n_pairs.tif"))
    dates = [series_ds.GetRasterBand(b + 1).GetDescription() for b in range(series_ds.RasterCount)]
    x0, dx, _, y0, _, dy = velocity_ds.GetGeoTransform()
    srs = osr.SpatialReference()
    if velocity_ds.GetProjection():
        srs.ImportFromWkt(velocity_ds.GetProjection())
    target = out_dir / name
    temporary = out_dir / f".{name}.part"
    temporary.unlink(missing_ok=True)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(temporary))
    layer = source.CreateLayer("timeseries", srs if velocity_ds.GetProjection() else None,
                               ogr.wkbPoint)
    for field in ("VEL", "V_STDEV", "TCOH"):
        layer.CreateField(ogr.FieldDefn(field, ogr.OFTReal))
    layer.CreateField(ogr.FieldDefn("N_PAIRS", ogr.OFTInteger))
    for day in dates:
        layer.CreateField(ogr.FieldDefn(f"D{day}", ogr.OFTReal))
    definition = layer.GetLayerDefn()
    width, height = velocity_ds.RasterXSize, velocity_ds.RasterYSize
    layer.StartTransaction()
    for row0 in range(0, height, block_rows):
        rows = min(block_rows, height - row0)
        velocity = velocity_ds.ReadAsArray(0, row0, width, rows)
        coherence = coherence_ds.ReadAsArray(0, row0, width, rows)
        keep = np.isfinite(velocity) & (np.nan_to_num(coherence) >= min_temporal_coherence)
        if not keep.any():
            continue
        series = series_ds.ReadAsArray(0, row0, width, rows).reshape(len(dates), rows, width)
        std = std_ds.ReadAsArray(0, row0, width, rows)
        n_pairs = pairs_ds.ReadAsArray(0, row0, width, rows)
        for r, c in zip(*np.nonzero(keep)):
            feature = ogr.Feature(definition)
            point = ogr.Geometry(ogr.wkbPoint)
            point.AddPoint_2D(x0 + (c + 0.5) * dx, y0 + (row0 + r + 0.5) * dy)
            feature.SetGeometry(point)
            feature.SetField("VEL", float(velocity[r, c]))
            feature.SetField("V_STDEV", float(std[r, c]))
            feature.SetField("TCOH", float(coherence[r, c]))
            feature.SetField("N_PAIRS", int(n_pairs[r, c]))
            for k, day in enumerate(dates):
                value = float(series[k, r, c])
                if np.isfinite(value):
                    feature.SetField(f"D{day}", value)
            layer.CreateFeature(feature)
    layer.CommitTransaction()
    source = None  # closes the file
    os.replace(temporary, target)
    return target
