"""Repairs end to end: stored in the labels, applied on the fly, one verdict everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sbas_selector.cli import main
from sbas_selector.core.closure import check_closure
from sbas_selector.core.formats import open_stack
from sbas_selector.core.labels import Label, LabelsStore, Source
from sbas_selector.core.repairs import Patch, repaired_stack
from tests.conftest import SMALL_ERROR as ERROR
from tests.unit.test_closure import TWO_PI, patch_mask


@pytest.fixture()
def stack_folder(small_error_stack) -> Path:
    return small_error_stack


def test_repairs_are_stored_applied_on_the_fly_and_files_untouched(stack_folder):
    stack = open_stack(stack_folder)
    target = stack.pair_ids[4]
    before = {p: p.read_bytes() for p in sorted((stack_folder / "unw").iterdir())}
    store = LabelsStore.open(stack)
    store.set_closure(check_closure(stack))
    assert store.labels[target].closure == "repaired"
    repaired = repaired_stack(stack, store.active_repairs())
    error = patch_mask(*ERROR)
    raw = stack.read_phase(4, referenced=False)
    fixed = repaired.read_phase(4, referenced=False)
    np.testing.assert_allclose(fixed[error], raw[error] - TWO_PI, atol=1e-5)
    np.testing.assert_array_equal(fixed[~error], raw[~error])
    store.set_repair_action(target, 1, "mask")
    masked = repaired_stack(stack, store.active_repairs()).read_phase(4, referenced=False)
    assert np.isnan(masked[error]).all() and np.isfinite(masked[~error]).all()
    assert {p: p.read_bytes() for p in before} == before  # the user's files are never written
    # Reopened from the file: the analyst's decision and the verdict are kept.
    again = LabelsStore.open(stack)
    patch = again.labels[target].repairs[0]
    assert (patch.action, patch.source, patch.proposed) == ("mask", "user", "correct")
    # A new check finds the same patch again and keeps the analyst's decision.
    again.set_closure(check_closure(stack))
    assert again.labels[target].repairs[0].action == "mask"
    assert again.undo() is None  # a reopened store has no undo history
    store.undo()
    assert store.labels[target].repairs[0].action == "correct"


def test_closure_drop_is_a_final_label_with_its_source(stack_folder):
    stack = open_stack(stack_folder)
    store = LabelsStore.open(stack)
    entry = store.labels[stack.pair_ids[0]]
    entry.closure = "dropped"
    assert entry.final is Label.LOW and entry.source is Source.CLOSURE
    entry.override = Label.HIGH
    assert entry.final is Label.HIGH and entry.source is Source.USER


def test_labels_from_before_the_closure_check_still_open(stack_folder):
    stack = open_stack(stack_folder)
    store = LabelsStore.open(stack)
    data = json.loads(store.path.read_text())
    for item in data["pairs"]:
        item.pop("closure")
        item.pop("repairs")
    data["pairs"][1]["override"] = "low"
    store.path.write_text(json.dumps(data))
    reopened = LabelsStore.open(stack)
    assert reopened.notice is None
    assert reopened.labels[stack.pair_ids[1]].final is Label.LOW
    assert reopened.labels[stack.pair_ids[1]].repairs == []


def test_a_malformed_patch_sets_the_file_aside(stack_folder):
    stack = open_stack(stack_folder)
    store = LabelsStore.open(stack)
    store.set_closure(check_closure(stack))
    data = json.loads(store.path.read_text())
    data["pairs"][4]["repairs"][0]["cycles"] = 0
    store.path.write_text(json.dumps(data))
    reopened = LabelsStore.open(stack)
    assert reopened.notice and "could not be read" in reopened.notice
    assert reopened.labels[stack.pair_ids[4]].repairs == []


def test_patch_json_round_trip():
    mask = np.zeros((5, 7), dtype=bool)
    mask[1:4, 2:6] = True
    mask[4, 0] = True
    patch = Patch(3, 12, 40, mask, -2, 0.875, 3, 4, "correct", "mask", "user")
    back = Patch.from_json(json.loads(json.dumps(patch.to_json())))
    assert back.same_pixels(patch)
    assert (back.cycles, back.action, back.source, back.patch_id) == (-2, "mask", "user", 3)
    assert back.describe() == "13 px at rows 12-16, cols 40-46, -2 cycles, masked by the analyst"


def test_cli_one_verdict_network_classify_export_invert(stack_folder, tmp_path, capsys):
    from osgeo import gdal

    target = open_stack(stack_folder).pair_ids[4]
    assert main(["network", str(stack_folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    closure = report["loop_closure"][target]
    assert closure["verdict"] == "repaired" and closure["final"] == "high"
    patch = closure["patches"][0]
    assert (patch["rows"], patch["cols"], patch["cycles"]) == ([10, 13], [20, 23], 1)
    assert closure["description"] == ("unwrapping error: 16 px at rows 10-13, cols 20-23, "
                                      "+1 cycle, corrected")
    assert sum(bool(v["patches"]) for v in report["loop_closure"].values()) == 1
    # The text report says the same.
    assert main(["network", str(stack_folder)]) == 0
    text = capsys.readouterr().out
    assert f"{target}: unwrapping error: 16 px at rows 10-13" in text
    # The CSV export carries it.
    assert main(["export", str(stack_folder), "--format", "csv",
                 "--out", str(tmp_path / "pairs.csv")]) == 0
    rows = (tmp_path / "pairs.csv").read_text().splitlines()
    assert rows[0].split(",")[10:13] == ["closure", "repairs", "evidence"]
    row = next(r for r in rows if f",{target}," in r)
    assert ',repaired,"unwrapping error: 16 px at rows 10-13, cols 20-23' in row
    # The analyst ignores the patch, then corrects it again (accepted: closure improves).
    assert main(["repair", str(stack_folder), "--set", f"{target}:1=ignore"]) == 0
    assert "+1 cycle, ignored by the analyst" in capsys.readouterr().out
    assert main(["repair", str(stack_folder), "--set", f"{target}:1=correct"]) == 0
    assert "+1 cycle, corrected by the analyst" in capsys.readouterr().out
    # invert applies the stored repairs unless told not to.
    assert main(["invert", str(stack_folder), "--out", str(tmp_path / "with"),
                 "--ref", "40,5"]) == 0
    assert main(["invert", str(stack_folder), "--out", str(tmp_path / "without"),
                 "--ref", "40,5", "--no-repairs"]) == 0
    err = capsys.readouterr().err
    assert "applying 1 stored repair(s) in 1 pair(s)" in err
    with_repairs = gdal.Open(str(tmp_path / "with" / "velocity.tif")).ReadAsArray()
    without = gdal.Open(str(tmp_path / "without" / "velocity.tif")).ReadAsArray()
    error = patch_mask(*ERROR)
    assert np.abs(with_repairs - without)[error].min() > 1.0  # mm/yr: the patch moved
    np.testing.assert_allclose(with_repairs[~error], without[~error], atol=0.5)
    # The corrected stack for MintPy or LiCSBAS: a GeoTIFF folder that closes everywhere.
    assert main(["export", str(stack_folder), "--format", "corrected",
                 "--out", str(tmp_path / "corrected")]) == 0
    corrected = open_stack(tmp_path / "corrected")
    assert corrected.n_pairs == 12
    assert (tmp_path / "corrected" / "repairs.csv").read_text().count(target) == 1
    recheck = check_closure(corrected)
    assert all(r.verdict == "clean" for r in recheck.pairs.values())
    assert main(["export", str(stack_folder), "--format", "corrected",
                 "--out", str(tmp_path / "corrected")]) == 2  # never overwritten
    assert "not empty" in capsys.readouterr().err


def test_cli_refuses_a_correction_that_would_not_improve_closure(stack_folder, capsys):
    stack = open_stack(stack_folder)
    target = stack.pair_ids[4]
    other = stack.pair_ids[0]
    store = LabelsStore.open(stack)
    store.set_closure(check_closure(stack))
    # Plant a patch where the pair closes fine: correcting it must be refused.
    store.labels[other].repairs = [Patch(1, 30, 30, np.ones((4, 4), bool), 1, 0.5, 1, 3,
                                         "mask", "mask")]
    store.save()
    assert main(["repair", str(stack_folder), "--set", f"{target}:1=mask"]) == 0
    assert "masked by the analyst" in capsys.readouterr().out
    # (repair re-runs the check, which clears the planted patch: plant it again)
    store = LabelsStore.open(stack)
    store.labels[other].repairs = [Patch(1, 30, 30, np.ones((4, 4), bool), 1, 0.5, 1, 3,
                                         "mask", "mask")]
    store.save()
    from sbas_selector.core.repair_flow import decide_patch

    with pytest.raises(ValueError, match="would not improve closure"):
        decide_patch(stack, store, other, 1, "correct")
    assert store.labels[other].repairs[0].action == "mask"
    assert main(["repair", str(stack_folder), "--set", f"{target}:7=mask"]) == 2
    assert "has no patch 7" in capsys.readouterr().err


def test_a_decision_is_kept_when_a_new_check_no_longer_finds_its_patch(stack_folder):
    from sbas_selector.core.closure import unchecked

    stack = open_stack(stack_folder)
    target = stack.pair_ids[4]
    store = LabelsStore.open(stack)
    store.set_closure(check_closure(stack))
    store.set_repair_action(target, 1, "mask")
    store.set_closure(unchecked(stack.pair_ids, [], (48, 64), "not checked"))
    kept = store.labels[target].repairs
    assert [(p.action, p.source) for p in kept] == [("mask", "user")]
    assert store.active_repairs()[target] == tuple(kept)
