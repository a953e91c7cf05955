"""Issue 15's cases, one by one: what each corrupted input now gives (the fuzz test covers
their combinations)."""

from __future__ import annotations

import errno
import json
import shutil

import h5py
import numpy as np
import pytest

from sbas_selector.cli import main
from sbas_selector.core import StackError, open_stack
from sbas_selector.core.labels import LabelsStore, labels_from_json, sidecar_path


@pytest.fixture(scope="module")
def formats(tmp_path_factory, small_simulation, small_geographic_simulation):
    from sbas_selector.core.simulation import write_simulation

    root = tmp_path_factory.mktemp("formats")
    write_simulation(small_simulation, root, ("hyp3", "mintpy", "geotiff"))
    write_simulation(small_geographic_simulation, root, ("licsbas",))
    return root


@pytest.fixture()
def copy_of(formats, tmp_path):
    def copy(name: str):
        shutil.copytree(formats / name, tmp_path / name)
        return tmp_path / name

    return copy


def _one_line_error(capsys, *parts: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("sbas-selector: error:"), err
    for part in parts:
        assert part in err, (part, err)
    return err


# ---- labels ------------------------------------------------------------------------------
@pytest.mark.parametrize("content", [
    '{"model": [1, 2], "pairs": []}', '{"model": 5, "pairs": []}', '{"model": "abc"}',
    '{"pairs": [{"pair_id": 20180106}]}', "[" * 50000,
    '{"pairs": [{"pair_id": "20180106_20180130", "probability_high": NaN}]}',
    '{"pairs": [{"pair_id": "20180106_20180130", "probability_high": 1.5}]}',
    '{"pairs": [{"pair_id": "20180106_20180130", "override": "maybe"}]}'])
def test_ill_formed_labels_are_refused(content):
    with pytest.raises(ValueError):
        labels_from_json(content)


def test_unknown_keys_are_ignored():
    labels, _ = labels_from_json('{"pairs": [{"pair_id": "20180106_20180130", "override": '
                                 '"low", "future": [{"cycles": 1}]}], "x": 2}')
    assert labels["20180106_20180130"].override == "low"


def test_malformed_repairs_are_refused_naming_the_pair():
    import pytest

    for repairs in ('[{"cycles": 1}]', '{"patch_id": 1}', '[{"patch_id": 1, "row0": 0, '
                    '"col0": 0, "rows": 2, "cols": 2, "mask": "!!", "cycles": 1, '
                    '"action": "correct"}]'):
        with pytest.raises(ValueError, match="20180106_20180130"):
            labels_from_json('{"pairs": [{"pair_id": "20180106_20180130", "repairs": '
                             + repairs + '}]}')


def test_two_files_set_aside_in_one_second_are_both_kept(stack_copy):
    stack = open_stack(stack_copy)
    path = sidecar_path(stack_copy)
    for content in ('{"model": "abc"}', '{"pairs": [{"pair_id": 5}]}'):
        path.write_text(content)
        store = LabelsStore.open(stack)
        assert "could not be read" in store.notice
    aside = sorted(p.read_text() for p in stack_copy.glob("*.unreadable-*"))
    assert aside == sorted(['{"model": "abc"}', '{"pairs": [{"pair_id": 5}]}'])
    assert labels_from_json(path.read_bytes())  # fresh labels, valid


def test_stale_temporaries_are_removed_live_ones_kept(stack_copy):
    import os

    stack = open_stack(stack_copy)
    store = LabelsStore.open(stack)
    dead = store.path.with_name(f".{store.path.name}.999999.abcd1234.tmp")
    live = store.path.with_name(f".{store.path.name}.{os.getppid()}.abcd1234.tmp")
    dead.write_text("{")
    live.write_text("{")
    LabelsStore.open(stack)
    assert not dead.exists() and live.exists()


def test_labels_are_strict_json(stack_copy):
    store = LabelsStore.open(open_stack(stack_copy))
    store.set_predictions({store.pair_ids[0]: float("nan")}, 0.5)
    text = store.path.read_text()
    assert "NaN" not in text and json.loads(text)["pairs"][0]["probability_high"] is None


# ---- baselines, wavelength, names --------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "1e308", "garbage"])
def test_hyp3_implausible_baseline_skips_that_pair(copy_of, capsys, value):
    folder = copy_of("hyp3")
    txt = sorted(folder.glob("*/*.txt"))[0]
    txt.write_text(txt.read_text().replace("Baseline:", f"Baseline: {value}\nOld:"))
    assert main(["info", "--json", str(folder)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert all(np.isfinite(b) and abs(b) < 1000 for b in info["date_bperp_m"])
    assert any(txt.name in s and "Baseline" in s for s in info["skipped"])


def test_baselines_csv_with_nan_names_file_and_line(copy_of):
    folder = copy_of("geotiff")
    csv = folder / "baselines.csv"
    lines = csv.read_text().splitlines()
    lines[3] = ",".join([*lines[3].split(",")[:2], "nan"])
    csv.write_text("\n".join(lines) + "\n")
    with pytest.raises(StackError, match="line 4") as error:
        open_stack(folder)
    assert error.value.path == csv


def test_labels_export_in_the_stack_folder_is_not_read_as_baselines(copy_of, capsys):
    folder = copy_of("geotiff")
    before = open_stack(folder).bperp_m
    assert main(["select", str(folder), "--max-days", "1000", "--out",
                 str(folder / "labels.csv")]) == 0
    rows = (folder / "labels.csv").read_text().splitlines()
    rows[1] = rows[1].replace(rows[1].split(",")[4], "999.000", 1)
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    (folder / "baselines.csv").unlink()
    stack = open_stack(folder)
    assert "labels.csv" not in stack.metadata["baseline_source"]
    assert len(stack.bperp_m) == len(before)
    assert 999.0 not in stack.bperp_m


def test_licsbas_wavelength_of_3_km_is_refused(copy_of):
    folder = copy_of("GEOCml1")
    (folder / "slc.mli.par").write_text("radar_frequency: 1.0e5 Hz\n")
    with pytest.raises(StackError, match="wavelength") as error:
        open_stack(folder)
    assert error.value.path.name == "slc.mli.par"


def test_licsbas_misnamed_pair_folder_is_listed_as_skipped(copy_of):
    folder = copy_of("GEOCml1")
    pair_dir = sorted(p for p in folder.iterdir() if p.is_dir())[0]
    pair_dir.rename(folder / (pair_dir.name + "_old"))
    stack = open_stack(folder)
    assert any(s.path.name == pair_dir.name + "_old" and "YYYYMMDD_YYYYMMDD" in s.reason
               for s in stack.skipped)


# ---- MintPy ------------------------------------------------------------------------------
def _edit_h5(folder, edit):
    path = folder / "inputs" / "ifgramStack.h5"
    with h5py.File(path, "r+") as h5:
        edit(h5)
    return path


@pytest.mark.parametrize("edit, words", [
    (lambda h5: (h5.__delitem__("bperp"), h5.__setitem__("bperp", h5py.SoftLink("/no"))),
     "broken"),
    (lambda h5: h5.attrs.__delitem__("X_STEP"), "X_STEP"),
    (lambda h5: h5.attrs.__setitem__("WAVELENGTH", "garbage"), "WAVELENGTH"),
    (lambda h5: (h5.__delitem__("date"), h5.__setitem__("date", np.arange(
        h5["bperp"].shape[0]))), "date"),
    (lambda h5: (h5.__delitem__("unwrapPhase"), h5.create_dataset(
        "unwrapPhase", (h5["bperp"].shape[0], 10**6, 10**6), np.float32, chunks=(1, 1, 64))),
     "larger than"),
])
def test_mintpy_faults_name_the_file(copy_of, capsys, edit, words):
    path = _edit_h5(copy_of("mintpy"), edit)
    assert main(["network", "--no-closure", str(path)]) == 2
    _one_line_error(capsys, str(path), words)


def test_mintpy_bad_reference_attribute_is_a_warning(copy_of):
    path = _edit_h5(copy_of("mintpy"), lambda h5: h5.attrs.update({"REF_Y": b"yes",
                                                                   "REF_X": "1"}))
    assert any("REF_Y" in w for w in open_stack(path).warnings)


# ---- phase values and the inversion ------------------------------------------------------
def test_absurd_phase_gives_no_absurd_velocity(copy_of, tmp_path, capsys):
    from osgeo import gdal

    folder = copy_of("GEOCml1")
    unw = sorted(folder.glob("*_*/*.unw"))[2]
    data = np.fromfile(unw, "<f4")
    data[::3] = -1e30
    data.tofile(unw)
    assert main(["invert", str(folder), "--out", str(tmp_path / "inv")]) == 0
    velocity = gdal.Open(str(tmp_path / "inv" / "velocity.tif")).ReadAsArray()
    assert np.nanmax(np.abs(velocity)) < 1000  # mm/yr: the simulated scene's range


def test_full_disk_while_committing_keeps_the_old_outputs(copy_of, tmp_path, monkeypatch):
    from sbas_selector.core.inversion import commit, run_inversion

    stack = open_stack(copy_of("geotiff"))
    out = tmp_path / "inv"
    run_inversion(stack, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(commit, "_fsync", full)
    with pytest.raises(StackError, match="No space left") as error:
        run_inversion(stack, out, keep=np.arange(stack.n_pairs) != 1)
    assert error.value.path == out
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing else left


# ---- arguments ---------------------------------------------------------------------------
@pytest.mark.parametrize("argv, words", [
    (["classify", "S", "--threshold", "2"], "--threshold"),
    (["classify", "S", "--threshold", "nan"], "--threshold"),
    (["classify", "S", "--batch", "0"], "--batch"),
    (["invert", "S", "--out", "O", "--memory-gb", "nan"], "--memory-gb"),
    (["invert", "S", "--out", "O", "--min-pairs", "0"], "--min-pairs"),
])
def test_bad_argument_values_are_one_line(capsys, argv, words):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err


def test_reference_arguments_are_checked(copy_of, tmp_path, capsys):
    folder = copy_of("GEOCml1")
    assert main(["invert", str(folder), "--out", str(tmp_path / "a"), "--ref", "nan,nan"]) == 2
    _one_line_error(capsys, "--ref")
    assert main(["invert", str(folder), "--out", str(tmp_path / "b"),
                 "--ref-lonlat=150,-80"]) == 2
    _one_line_error(capsys, "outside", str(folder))


def test_out_pointing_at_a_folder_is_refused(copy_of, tmp_path, capsys):
    folder = copy_of("geotiff")
    for argv in (["export", str(folder), "--format", "csv", "--out", str(tmp_path)],
                 ["network", str(folder), "--png", str(tmp_path)]):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's own one-line error
            code = exit_.code
        assert code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "is a folder" in err and str(tmp_path) in err


def test_soft_weights_with_a_bad_probability_name_file_and_line(copy_of, tmp_path, capsys):
    folder = copy_of("GEOCml1")
    labels = tmp_path / "labels.csv"
    assert main(["select", str(folder), "--max-days", "1000", "--out", str(labels)]) == 0
    rows = labels.read_text().splitlines()
    columns = rows[0].split(",")
    cells = rows[2].split(",")
    cells[columns.index("probability_high")] = "nan"
    rows[2] = ",".join(cells)
    labels.write_text("\n".join(rows) + "\n")
    capsys.readouterr()
    assert main(["invert", str(folder), "--out", str(tmp_path / "inv"), "--soft", "--labels",
                 str(labels)]) == 2
    _one_line_error(capsys, str(labels), "line 3", "probability_high")


def test_velocity_beyond_the_limit_is_left_nan_with_a_warning(copy_of, tmp_path):
    from osgeo import gdal

    from sbas_selector.core.inversion import run_inversion
    from sbas_selector.core.plausible import VELOCITY_LIMIT_MM_YR

    folder = copy_of("GEOCml1")
    stack = open_stack(folder)
    for pair in stack.pairs:
        if pair.days == 12:  # radians: within the reading limit, far beyond physics here
            unw = folder / pair.pair_id / f"{pair.pair_id}.unw"
            data = np.fromfile(unw, "<f4").reshape(stack.grid.height, stack.grid.width)
            data[:10, :10] = 9000.0
            data.tofile(unw)
    result = run_inversion(open_stack(folder), tmp_path / "inv")
    velocity = gdal.Open(str(tmp_path / "inv" / "velocity.tif")).ReadAsArray()
    assert np.nanmax(np.abs(velocity)) <= VELOCITY_LIMIT_MM_YR
    assert any("beyond" in w and "left NaN" in w for w in result.warnings)
    assert np.isnan(velocity[:10, :10]).any()
