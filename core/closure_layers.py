"""What the closure check shows on a map: the per-pixel count of misclosed triplets (a
GeoTIFF) and the outlines of the patches (a GeoPackage of polygons), on the stack's grid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .closure import ClosureCheck
from .paths import user_data_folder
from .raster_io import write_geotiff
from .repairs import Patch
from .stack_types import Grid

PATCH_FIELDS = ("pair_id", "patch_id", "n_pixels", "cycles", "action", "proposed", "source",
                "confidence")


def closure_raster_path(stack_path: str | Path) -> Path:
    """Where the per-pixel closure raster of a stack is kept (the user's data folder)."""
    return user_data_folder("closure", stack_path) / "misclosed_triplets.tif"


def write_closure_raster(check: ClosureCheck, grid: Grid, path: str | Path) -> Path:
    """Two bands, int16: closed triplets misclosed by whole cycles at each pixel, and closed
    triplets with data there (so that 0 of 0, untested, differs from 0 of 12)."""
    data = np.stack([check.misclosed_count, check.triplet_count]).astype(np.int16)
    return write_geotiff(path, data, grid, nodata=None,
                         band_descriptions=["misclosed triplets", "triplets with data"],
                         tags={"QUANTITY": "closed triplets misclosed by whole cycles",
                               "UNITS": "triplets"})


def write_patch_outlines(repairs: Mapping[str, Sequence[Patch]], grid: Grid,
                         path: str | Path) -> Path:
    """One polygon per patch (its pixels' outline, on the grid's CRS) with
    :data:`PATCH_FIELDS`, in a new GeoPackage (an existing file is replaced)."""
    from osgeo import gdal, ogr, osr

    gdal.UseExceptions()
    ogr.UseExceptions()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.part{path.suffix}")
    temporary.unlink(missing_ok=True)
    source = ogr.GetDriverByName("GPKG").CreateDataSource(str(temporary))
    srs = None
    if grid.crs_wkt:
        srs = osr.SpatialReference()
        srs.ImportFromWkt(grid.crs_wkt)
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    layer = source.CreateLayer("patches", srs, ogr.wkbMultiPolygon)
    for name, kind in (("pair_id", ogr.OFTString), ("patch_id", ogr.OFTInteger),
                       ("n_pixels", ogr.OFTInteger), ("cycles", ogr.OFTInteger),
                       ("action", ogr.OFTString), ("proposed", ogr.OFTString),
                       ("source", ogr.OFTString), ("confidence", ogr.OFTReal)):
        layer.CreateField(ogr.FieldDefn(name, kind))
    memory = gdal.GetDriverByName("MEM")
    for pair_id, patches in repairs.items():
        for patch in patches:
            geometry = _outline(patch, grid, memory, ogr)
            feature = ogr.Feature(layer.GetLayerDefn())
            for name in PATCH_FIELDS:
                value = pair_id if name == "pair_id" else getattr(patch, name)
                feature.SetField(name, value)
            feature.SetGeometry(geometry)
            layer.CreateFeature(feature)
    layer = None  # a layer must go before its data source (GDAL's Python rule)
    source = None
    temporary.replace(path)
    return path


def patch_outline_wkt(patch: Patch, grid: Grid) -> str:
    """The patch's outline as WKT (a multipolygon in the grid's coordinates)."""
    from osgeo import gdal, ogr

    gdal.UseExceptions()
    return _outline(patch, grid, gdal.GetDriverByName("MEM"), ogr).ExportToWkt()


def _outline(patch: Patch, grid: Grid, memory, ogr):
    """The patch's pixels as one multipolygon in the grid's coordinates."""
    rows, cols = patch.mask.shape
    raster = memory.Create("", cols, rows, 1, 1)  # Byte
    x0, dx, rx, y0, ry, dy = grid.geotransform
    raster.SetGeoTransform([x0 + patch.col0 * dx + patch.row0 * rx, dx, rx,
                            y0 + patch.col0 * ry + patch.row0 * dy, ry, dy])
    band = raster.GetRasterBand(1)
    band.WriteArray(patch.mask.astype(np.uint8))
    vectors = ogr.GetDriverByName("Memory").CreateDataSource("")
    layer = vectors.CreateLayer("outline", None, ogr.wkbPolygon)
    layer.CreateField(ogr.FieldDefn("value", ogr.OFTInteger))
    from osgeo import gdal

    gdal.Polygonize(band, band, layer, 0)
    union = ogr.Geometry(ogr.wkbMultiPolygon)
    for feature in layer:
        union.AddGeometry(feature.GetGeometryRef().Clone())
    layer = band = None  # before their data sources (GDAL's Python rule)
    vectors = raster = None
    return union
