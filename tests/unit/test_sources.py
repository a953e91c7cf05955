"""Raster values read as missing: nodata, not a number, beyond the phase limit."""

from __future__ import annotations

import numpy as np
import pytest
from osgeo import gdal

from sbas_selector.core.plausible import PHASE_LIMIT_RAD
from sbas_selector.core.sources import GdalSource, _mask_missing
from sbas_selector.core.stack_types import Window


def _values(nodata: float | None) -> np.ndarray:
    limit = np.float32(PHASE_LIMIT_RAD)
    edges = [0.0, -0.0, np.nan, np.inf, -np.inf, limit, -limit,
             np.nextafter(limit, np.float32(np.inf)), -np.nextafter(limit, np.float32(np.inf)),
             np.nextafter(limit, np.float32(0)), 3e38, -3e38, 1e-40, -1e-40, 5.5, -9999.0]
    rng = np.random.default_rng(3)
    values = np.concatenate([np.array(edges, np.float32),
                             rng.normal(0, 40, 500).astype(np.float32),
                             np.full(20, np.float32(nodata if nodata is not None else 1.0))])
    return rng.permutation(values).reshape(4, -1)


@pytest.mark.parametrize("scale", [1.0, 1 / 255])
@pytest.mark.parametrize("nodata", [0.0, None, float("nan"), -9999.0, 5.5])
def test_missing_values_are_nodata_not_a_number_or_beyond_the_limit(nodata, scale):
    values = _values(nodata)
    expected = values.copy()
    if nodata is not None and not np.isnan(nodata):
        expected[values == np.float32(nodata)] = np.nan
    with np.errstate(invalid="ignore"):
        expected[~(np.abs(values) <= np.float32(PHASE_LIMIT_RAD))] = np.nan
    expected *= np.float32(scale)
    out = values.copy()
    assert _mask_missing(out, nodata, scale) is out
    np.testing.assert_array_equal(out, expected)  # NaN where expected is NaN, else equal


def test_a_geotiff_window_reads_with_zero_nodata_and_absurd_values_missing(tmp_path):
    gdal.UseExceptions()
    values = np.array([[0.0, 1.5, -2.0], [2e4, np.inf, -0.0], [3.0, np.nan, 9999.0]],
                      np.float32)
    path = tmp_path / "phase.tif"
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), 3, 3, 1, gdal.GDT_Float32)
    dataset.GetRasterBand(1).WriteArray(values)
    dataset.GetRasterBand(1).SetNoDataValue(0.0)
    dataset = None
    out = np.empty((2, 3), np.float32)
    GdalSource(path, nodata=0.0).read_into(Window(1, 0, 2, 3), out)
    np.testing.assert_array_equal(out, [[np.nan, np.nan, np.nan], [3.0, np.nan, 9999.0]])


@pytest.mark.parametrize("layout", [["TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16"],
                                    ["BLOCKYSIZE=5"]])
@pytest.mark.parametrize("compress", ["NONE", "DEFLATE"])
def test_windows_of_whole_blocks_read_block_by_block_as_gdal_reads_them(tmp_path, layout,
                                                                        compress, monkeypatch):
    """Windows made of whole tiles or strips (one, several across, several down, cut by the
    raster's edge) are decoded block by block straight into the window, bypassing GDAL's
    cache; others (not on block edges, too many blocks) are read by GDAL as before. Either
    way, the values GDAL reads."""
    import sbas_selector.core.sources as sources

    gdal.UseExceptions()
    rng = np.random.default_rng(3)
    values = rng.normal(0, 3, (37, 45)).astype(np.float32)  # edge blocks cut short
    path = tmp_path / "phase.tif"
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), 45, 37, 1, gdal.GDT_Float32,
                                                   [*layout, f"COMPRESS={compress}"])
    dataset.GetRasterBand(1).WriteArray(values)
    dataset = None
    by_blocks = []
    read_blocks = sources._read_blocks
    monkeypatch.setattr(sources, "_read_blocks",
                        lambda *args: by_blocks.append(read_blocks(*args)) or by_blocks[-1])
    tiled = "TILED=YES" in layout
    windows = {  # window: read block by block
        Window(0, 0, 16, 16): tiled, Window(16, 16, 16, 29): tiled, Window(32, 32, 5, 13): tiled,
        Window(0, 0, 16, 45): tiled,  # three tiles across, the last cut by the edge
        Window(0, 0, 37, 45): not tiled,  # eight strips, or nine tiles: too many
        Window(5, 0, 10, 45): not tiled, Window(35, 0, 2, 45): not tiled,
        Window(1, 2, 10, 10): False, Window(0, 0, 35, 40): False}
    for window, blockwise in windows.items():
        out = np.full((window.rows, window.cols), np.nan, np.float32)
        GdalSource(path).read_into(window, out)
        np.testing.assert_array_equal(
            out, values[window.row:window.row + window.rows, window.col:window.col + window.cols],
            err_msg=str(window))
        assert by_blocks[-1] is blockwise, window


def test_bindings_whose_read_block_takes_no_buffer_fall_back_to_gdals_read(tmp_path,
                                                                          monkeypatch):
    """Older GDAL bindings' ``Band.ReadBlock`` may not take ``buf_obj``: the window is then
    read by GDAL's windowed read, with the same values."""
    gdal.UseExceptions()
    values = np.arange(32 * 32, dtype=np.float32).reshape(32, 32)
    path = tmp_path / "phase.tif"
    dataset = gdal.GetDriverByName("GTiff").Create(
        str(path), 32, 32, 1, gdal.GDT_Float32, ["TILED=YES", "BLOCKXSIZE=16", "BLOCKYSIZE=16"])
    dataset.GetRasterBand(1).WriteArray(values)
    dataset = None

    def read_block(self, xoff, yoff, **kwargs):
        raise TypeError("ReadBlock() got an unexpected keyword argument 'buf_obj'")

    monkeypatch.setattr(gdal.Band, "ReadBlock", read_block)
    out = np.full((16, 32), np.nan, np.float32)
    GdalSource(path).read_into(Window(16, 0, 16, 32), out)
    np.testing.assert_array_equal(out, values[16:])
