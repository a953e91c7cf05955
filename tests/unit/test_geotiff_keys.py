"""GeoTIFF keys read from the header: the cache key for building each CRS once."""

from __future__ import annotations

import numpy as np
from osgeo import gdal, osr

from sbas_selector.core.formats.common import inspect_raster
from sbas_selector.core.geotiff_keys import geokeys_signature


def _write(path, epsg, options=()):
    gdal.UseExceptions()
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), 8, 6, 1, gdal.GDT_Float32,
                                                   list(options))
    dataset.SetGeoTransform([500000, 30, 0, 2150000, 0, -30] if epsg != 4326
                            else [-99.2, 0.001, 0, 19.45, 0, -0.001])
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    dataset.SetProjection(srs.ExportToWkt())
    dataset.GetRasterBand(1).WriteArray(np.ones((6, 8), np.float32))
    dataset = None
    return path


def test_same_crs_same_signature_other_crs_other_signature(tmp_path):
    a = _write(tmp_path / "a.tif", 32614)
    b = _write(tmp_path / "b.tif", 32614, ["TILED=YES", "COMPRESS=DEFLATE"])
    big = _write(tmp_path / "big.tif", 32614, ["BIGTIFF=YES"])
    other = _write(tmp_path / "c.tif", 4326)
    assert geokeys_signature(a) is not None
    assert geokeys_signature(a) == geokeys_signature(b)
    assert geokeys_signature(big) is not None and geokeys_signature(big)[1:] == \
        geokeys_signature(a)[1:]
    assert geokeys_signature(other) != geokeys_signature(a)
    (tmp_path / "not.tif").write_bytes(b"hello, not a tiff")
    assert geokeys_signature(tmp_path / "not.tif") is None


def test_inspect_gets_each_files_own_crs(tmp_path):
    utm = inspect_raster(_write(tmp_path / "utm.tif", 32614))
    geo = inspect_raster(_write(tmp_path / "geo.tif", 4326))
    utm2 = inspect_raster(_write(tmp_path / "utm2.tif", 32614))
    assert "32614" in utm.crs_wkt and "4326" in geo.crs_wkt and utm2.crs_wkt == utm.crs_wkt
    # A PAM sidecar overrides the file's keys: its CRS is read, not the cached one.
    plain = _write(tmp_path / "pam.tif", 32614)
    dataset = gdal.Open(str(plain))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32613)
    dataset.SetProjection(srs.ExportToWkt())  # read-only open: goes to pam.tif.aux.xml
    dataset = None
    assert (tmp_path / "pam.tif.aux.xml").exists()
    assert "32613" in inspect_raster(plain).crs_wkt
