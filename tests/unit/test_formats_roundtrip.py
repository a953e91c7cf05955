"""Every writer's output is read back by its reader, detected, and equals what was written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sbas_selector.core import detect_format, open_stack
from sbas_selector.core.formats.geotiff import write_geotiff_folder
from sbas_selector.core.formats.hyp3 import write_hyp3
from sbas_selector.core.formats.licsbas import write_licsbas
from sbas_selector.core.formats.mintpy import write_mintpy

WRITERS = {
    "hyp3": lambda stack, out: write_hyp3(stack, out / "hyp3"),
    "mintpy": lambda stack, out: write_mintpy(stack, out / "mintpy"),
    "licsbas": lambda stack, out: write_licsbas(stack, out / "GEOCml1"),
    "geotiff": lambda stack, out: write_geotiff_folder(stack, out / "tifs"),
}


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_round_trip(fmt, tmp_path, small_simulation, small_geographic_simulation):
    sim = small_geographic_simulation if fmt == "licsbas" else small_simulation
    original = sim.to_stack()
    written = WRITERS[fmt](original, tmp_path)
    folder = written.parent.parent if fmt == "mintpy" else written
    assert detect_format(folder) == fmt
    stack = open_stack(folder)
    assert stack.format_name == fmt
    assert stack.pair_ids == original.pair_ids
    assert stack.dates == sim.dates
    np.testing.assert_allclose(stack.bperp_m, original.bperp_m, atol=1e-3)
    np.testing.assert_allclose(stack.date_bperp_m, sim.date_bperp_m, atol=1e-3)
    assert (stack.grid.width, stack.grid.height) == (64, 48)
    np.testing.assert_allclose(stack.grid.geotransform, original.grid.geotransform, rtol=1e-12)
    assert stack.grid.epsg == (4326 if fmt == "licsbas" else 32614)
    assert stack.wavelength_m == pytest.approx(original.wavelength_m, rel=1e-6)
    # Both referenced to the same pixel, phase must agree wherever data exist.
    stack.reference_pixel = original.reference_pixel
    for i in (0, stack.n_pairs // 2, stack.n_pairs - 1):
        expected = original.read_phase(i)
        got = stack.read_phase(i)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
        np.testing.assert_allclose(got, expected, atol=1e-4)
        coherence_tolerance = 0.5 / 255 + 1e-6 if fmt == "licsbas" else 1e-6
        np.testing.assert_allclose(stack.read_coherence(i), original.read_coherence(i),
                                   atol=coherence_tolerance)


def test_hyp3_products_are_referenced_to_their_own_point(tmp_path, small_simulation):
    from osgeo import gdal

    write_hyp3(small_simulation.to_stack(), tmp_path)
    files = sorted(tmp_path.glob("*/*_unw_phase.tif"))
    assert len(files) == len(small_simulation.pairs)
    txt = files[0].with_name(files[0].name.replace("_unw_phase.tif", ".txt")).read_text()
    for key in ("Reference Granule:", "Baseline:", "UTC time:", "Unwrapping type:"):
        assert key in txt
    refs = []
    for path in files[:5]:
        data = gdal.Open(str(path)).ReadAsArray()
        meta = path.with_name(path.name.replace("_unw_phase.tif", ".txt")).read_text()
        line = next(x for x in meta.splitlines() if x.startswith("Reference point"))
        row, col = (int(v) for v in line.split(":")[1].split())
        assert abs(data[row, col]) < 1e-6  # referenced there
        refs.append((row, col))
    assert len(set(refs)) > 1  # each pair its own point: a reader must re-reference


def test_mintpy_drop_ifgram_is_initial_keep_state(tmp_path, small_simulation):
    stack = small_simulation.to_stack()
    stack.keep[[1, 3]] = False
    path = write_mintpy(stack, tmp_path / "ifgramStack.h5")
    reread = open_stack(path)
    assert list(np.flatnonzero(~reread.keep)) == [1, 3]


def test_mintpy_reference_attributes_are_used(tmp_path, small_simulation):
    import h5py

    path = write_mintpy(small_simulation.to_stack(), tmp_path / "ifgramStack.h5")
    with h5py.File(path, "a") as h5:
        h5.attrs["REF_Y"], h5.attrs["REF_X"] = "12", "30"
    assert open_stack(path).reference_pixel == (12, 30)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_layer_sources_open_in_gdal_with_the_same_values(fmt, tmp_path, monkeypatch,
                                                         small_simulation,
                                                         small_geographic_simulation):
    from osgeo import gdal

    from sbas_selector.core.layer_sources import layer_source

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    sim = small_geographic_simulation if fmt == "licsbas" else small_simulation
    written = WRITERS[fmt](sim.to_stack(), tmp_path)
    stack = open_stack(written.parent.parent if fmt == "mintpy" else written)
    for kind in ("phase", "coherence"):
        path, band = layer_source(stack, 3, kind)
        dataset = gdal.Open(path)
        values = dataset.GetRasterBand(band).ReadAsArray().astype(np.float32)
        expected = (stack.read_phase(3, referenced=False) if kind == "phase"
                    else stack.read_coherence(3))
        finite = np.isfinite(expected)
        scale = 1 / 255 if fmt == "licsbas" and kind == "coherence" else 1.0
        np.testing.assert_allclose(values[finite] * scale, expected[finite], atol=1e-5)
        np.testing.assert_allclose(dataset.GetGeoTransform(), stack.grid.geotransform)
        _assert_gdal_312_accepts(Path(path))


def _assert_gdal_312_accepts(path: Path) -> None:
    """GDAL >= 3.12's rule for raw bands (SIBLING_OR_CHILD_OF_VRT_PATH, its default), checked
    here whatever GDAL runs the test: relativeToVRT set, a relative name without '..'."""
    if path.suffix != ".vrt":
        return
    import xml.etree.ElementTree as ET  # nosec B405: a file this test just had written

    for band in ET.parse(path).getroot().iter("VRTRasterBand"):  # nosec B314
        if band.get("subClass") != "VRTRawRasterBand":
            continue
        source = band.find("SourceFilename")
        assert source is not None and source.get("relativeToVRT") == "1"
        assert not Path(source.text).is_absolute() and ".." not in Path(source.text).parts
        assert (path.parent / source.text).is_file()


def test_raw_layers_of_a_read_only_stack_are_copied_to_the_user_data(tmp_path, monkeypatch,
                                                                      small_geographic_simulation):
    """A LiCSBAS stack in a read-only folder: no VRT can go beside its rasters, so the layer is
    a GeoTIFF copy in the user's data folder, with the file's values."""
    from osgeo import gdal

    from sbas_selector.core.layer_sources import layer_source

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    written = WRITERS["licsbas"](small_geographic_simulation.to_stack(), tmp_path)
    stack = open_stack(written)
    pair_folder = stack.source(3, "phase").path.parent
    pair_folder.chmod(0o555)
    try:
        for kind in ("phase", "coherence"):
            path, band = layer_source(stack, 3, kind)
            assert Path(path).suffix == ".tif" and (tmp_path / "xdg") in Path(path).parents
            dataset = gdal.Open(path)  # kept: its band dies with it
            values = dataset.GetRasterBand(band).ReadAsArray().astype(np.float32)
            expected = (stack.read_phase(3, referenced=False) if kind == "phase"
                        else stack.read_coherence(3) * 255)
            finite = np.isfinite(expected)
            np.testing.assert_allclose(values[finite], expected[finite], atol=1e-3)
        assert not list(pair_folder.glob(".*.vrt"))
    finally:
        pair_folder.chmod(0o755)


def test_opening_a_hyp3_folder_lists_it_once(tmp_path, small_simulation, monkeypatch):
    """Detecting the format and reading the products share one listing of the folder (a
    stack holds thousands of files); the stack is the same as read_hyp3's own."""
    from sbas_selector.core.formats import hyp3

    write_hyp3(small_simulation.to_stack(), tmp_path)
    listed = []
    files = hyp3._files
    monkeypatch.setattr(hyp3, "_files", lambda folder: listed.append(folder) or files(folder))
    stack = open_stack(tmp_path)
    assert listed == [tmp_path]
    alone = hyp3.read_hyp3(tmp_path)
    assert [p.pair_id for p in stack.pairs] == [p.pair_id for p in alone.pairs]
    assert stack.grid == alone.grid and stack.format_name == "hyp3"
