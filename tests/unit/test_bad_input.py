"""Bad input gives a clear message naming the file; what is good still loads."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from sbas_selector.core import StackError, open_stack
from sbas_selector.core.formats.geotiff import write_geotiff_folder
from sbas_selector.core.formats.licsbas import write_licsbas
from sbas_selector.core.raster_io import write_geotiff
from sbas_selector.core.stack_types import Grid


@pytest.fixture()
def real_copy(tmp_path, real_stack_path):
    target = tmp_path / "real"
    shutil.copytree(real_stack_path, target)
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


def test_empty_folder(tmp_path):
    with pytest.raises(StackError) as error:
        open_stack(tmp_path)
    assert str(tmp_path) in str(error.value) and "no interferogram stack" in str(error.value)


def test_missing_path(tmp_path):
    with pytest.raises(StackError, match="does not exist"):
        open_stack(tmp_path / "nope")


def test_corrupt_and_truncated_geotiffs_are_skipped(real_copy):
    unw = sorted((real_copy / "unw").glob("*.tif"))
    unw[0].write_bytes(b"this is not a tiff")
    data = unw[1].read_bytes()
    unw[1].write_bytes(data[: len(data) // 2])
    stack = open_stack(real_copy)
    assert stack.n_pairs == 28
    reasons = {s.path.name: s.reason for s in stack.skipped}
    assert unw[0].name in reasons and unw[1].name in reasons
    assert "corrupt or truncated" in reasons[unw[0].name]


def test_size_mismatch_skipped_and_named(real_copy):
    grid = Grid(50, 30, (-99.19, 0.0013888889, 0.0, 19.45, 0.0, -0.0013888889), "")
    from sbas_selector.core.raster_io import crs_wkt_from_epsg

    grid = Grid(grid.width, grid.height, grid.geotransform, crs_wkt_from_epsg(32614))
    odd = real_copy / "unw" / "cropA_20180717-20180730_VV_8rlks_eqa_unw.tif"
    write_geotiff(odd, np.ones((30, 50), np.float32), grid)
    stack = open_stack(real_copy)
    assert stack.n_pairs == 30
    assert any(s.path == odd and "coordinate system" in s.reason for s in stack.skipped)


def test_names_without_dates_reversed_dates_and_duplicates(real_copy):
    src = sorted((real_copy / "unw").glob("*.tif"))[0]
    shutil.copy(src, real_copy / "unw" / "unw_nodates.tif")
    shutil.copy(src, real_copy / "unw" / "cropA_20180130-20180106_unw.tif")
    shutil.copy(src, real_copy / "unw" / "zz_20180106_20180130_unw.tif")
    stack = open_stack(real_copy)
    assert stack.n_pairs == 30
    reasons = {s.path.name: s.reason for s in stack.skipped}
    assert "two dates" in reasons["unw_nodates.tif"]
    assert "not before" in reasons["cropA_20180130-20180106_unw.tif"]
    assert "duplicate" in reasons["zz_20180106_20180130_unw.tif"]


def test_integer_phase_is_refused_with_reason(tmp_path, small_simulation):
    folder = write_geotiff_folder(small_simulation.to_stack(), tmp_path / "tifs")
    first = sorted((folder / "unw").glob("*.tif"))[0]
    grid = small_simulation.grid
    write_geotiff(first, np.ones((grid.height, grid.width), np.int16), grid, nodata=None)
    stack = open_stack(folder)
    assert stack.n_pairs == len(small_simulation.pairs) - 1
    assert any("Int16" in s.reason for s in stack.skipped)


def test_hdf5_without_expected_datasets(tmp_path):
    import h5py

    path = tmp_path / "ifgramStack.h5"
    with h5py.File(path, "w") as h5:
        h5["unwrapPhase"] = np.zeros((2, 4, 4), np.float32)
    with pytest.raises(StackError) as error:
        open_stack(path)
    assert "ifgramStack.h5" in str(error.value) and "date" in str(error.value)


def test_not_hdf5(tmp_path):
    path = tmp_path / "ifgramStack.h5"
    path.write_text("nope")
    with pytest.raises(StackError, match="not a readable HDF5"):
        open_stack(path)


def test_licsbas_truncated_unw_is_skipped(tmp_path, small_geographic_simulation):
    folder = write_licsbas(small_geographic_simulation.to_stack(), tmp_path / "GEOCml1")
    first = sorted(folder.glob("*_*/*.unw"))[0]
    first.write_bytes(first.read_bytes()[:100])
    stack = open_stack(folder)
    assert stack.n_pairs == len(small_geographic_simulation.pairs) - 1
    assert any(s.path == first and "truncated" in s.reason for s in stack.skipped)


def test_hyp3_missing_metadata_is_skipped(tmp_path, small_simulation):
    from sbas_selector.core.formats.hyp3 import write_hyp3

    folder = write_hyp3(small_simulation.to_stack(), tmp_path / "hyp3")
    txt = sorted(folder.glob("*/*.txt"))[0]
    txt.unlink()
    stack = open_stack(folder)
    assert stack.n_pairs == len(small_simulation.pairs) - 1
    assert any(s.path == txt and "metadata file missing" in s.reason for s in stack.skipped)


def test_cli_error_is_one_line_and_exit_2(tmp_path):
    result = subprocess.run([sys.executable, "-m", "sbas_selector.cli", "info", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sbas-selector: error:")
    assert str(tmp_path) in lines[0] and "Traceback" not in result.stderr
