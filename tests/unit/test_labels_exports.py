"""Labels store (atomic, crash-safe, refuses another stack's labels) and exports."""

from __future__ import annotations

import csv
import json
import os
from unittest import mock

import pytest

from sbas_selector.cli import main
from sbas_selector.core import StackError, open_stack
from sbas_selector.core.exports import export_pairs
from sbas_selector.core.labels import Label, LabelsStore, Source, sidecar_path


def test_store_starts_from_stack_and_saves_every_change(stack_copy):
    stack = open_stack(stack_copy)
    store = LabelsStore.open(stack)
    assert store.path == sidecar_path(stack_copy) and store.path.is_file()
    pid = stack.pair_ids[4]
    store.set_override(pid, "low")
    reloaded = LabelsStore.open(open_stack(stack_copy))
    assert reloaded.final(pid) is Label.LOW
    assert reloaded.labels[pid].source is Source.USER
    store.set_predictions({stack.pair_ids[0]: 0.2, stack.pair_ids[1]: 0.9}, 0.5,
                          model={"name": "test"})
    reloaded = LabelsStore.open(open_stack(stack_copy))
    assert reloaded.final(stack.pair_ids[0]) is Label.LOW
    assert reloaded.labels[stack.pair_ids[0]].source is Source.MODEL
    assert reloaded.final(stack.pair_ids[1]) is Label.HIGH
    assert reloaded.model == {"name": "test"}
    assert store.undo() == pid  # the override is undone; predictions are not undoable


def test_undo_restores_previous_override(stack_copy):
    store = LabelsStore.open(open_stack(stack_copy))
    pid = store.pair_ids[0]
    store.set_override(pid, "low")
    store.set_override(pid, "high")
    assert store.undo() == pid and store.final(pid) is Label.LOW
    assert store.undo() == pid and store.labels[pid].override is None
    assert store.undo() is None


def test_crash_mid_write_keeps_the_previous_file(stack_copy):
    store = LabelsStore.open(open_stack(stack_copy))
    pid = store.pair_ids[2]
    store.set_override(pid, "low")
    before = store.path.read_text()
    with mock.patch("sbas_selector.core.labels.os.fsync", side_effect=OSError("disk full")):
        with pytest.raises(OSError):
            store.set_override(pid, "high")
    assert store.path.read_text() == before  # the last saved decision survives
    assert not [p for p in store.path.parent.iterdir() if p.name.startswith(".sbas")]
    assert LabelsStore.open(open_stack(stack_copy)).final(pid) is Label.LOW


def test_unreadable_file_is_set_aside_not_overwritten(stack_copy):
    path = sidecar_path(stack_copy)
    path.write_text("{ this is not json")
    store = LabelsStore.open(open_stack(stack_copy))
    aside = [p for p in stack_copy.iterdir() if ".unreadable-" in p.name]
    assert len(aside) == 1 and aside[0].read_text() == "{ this is not json"
    assert "could not be read" in store.notice and aside[0].name in store.notice


def test_labels_of_another_stack_are_refused(stack_copy):
    path = sidecar_path(stack_copy)
    LabelsStore.open(open_stack(stack_copy))
    data = json.loads(path.read_text())
    data["pairs"][0]["pair_id"] = "20000101_20000113"
    path.write_text(json.dumps(data))
    with pytest.raises(StackError, match="belong to another stack") as error:
        LabelsStore.open(open_stack(stack_copy))
    assert "20000101_20000113" in str(error.value) and "20180106_20180130" in str(error.value)
    assert json.loads(path.read_text()) == data  # untouched


def test_read_only_stack_falls_back_to_user_data(tmp_path, real_stack_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    store = LabelsStore.open(open_stack(real_stack_path))
    assert str(store.path).startswith(str(tmp_path / "xdg"))
    assert "not writable" in store.notice
    assert not (real_stack_path / "sbas_selector_labels.json").exists()


def test_exports_exact_formats(stack_copy, tmp_path):
    stack = open_stack(stack_copy)
    store = LabelsStore.open(stack)
    store.set_override("20180106_20180412", "low")
    store.set_override("20180331_20180717", "low")
    out = tmp_path / "out"
    export_pairs(stack, store, "licsbas", out / "rm_ifg_list.txt")
    assert (out / "rm_ifg_list.txt").read_text() == "20180106_20180412\n20180331_20180717\n"
    files = export_pairs(stack, store, "mintpy", out / "exclude.txt")
    assert [f.name for f in files] == ["exclude.txt", "exclude_keep.txt",
                                       "exclude_template.cfg"]
    assert (out / "exclude.txt").read_text() == "20180106_20180412\n20180331_20180717\n"
    kept = (out / "exclude_keep.txt").read_text().splitlines()
    assert len(kept) == 28 and kept[0] == "20180106_20180130"
    assert all(len(line) == 17 and line[8] == "_" for line in kept)
    assert ("mintpy.network.excludeDate12 = 20180106_20180412,20180331_20180717\n"
            in (out / "exclude_template.cfg").read_text())
    export_pairs(stack, store, "csv", out / "labels.csv")
    rows = list(csv.DictReader(open(out / "labels.csv")))
    assert rows[0]["date1"] == "20180106" and rows[0]["date2"] == "20180130"
    assert [r["label"] for r in rows].count("low") == 2
    assert next(r for r in rows if r["pair_id"] == "20180106_20180412")["source"] == "user"


def test_cli_select_network_export(stack_copy, tmp_path, capsys):
    assert main(["select", str(stack_copy), "--max-days", "60", "--max-bperp", "50",
                 "--out", str(tmp_path / "labels.csv")]) == 0
    out = capsys.readouterr().out
    stack = open_stack(stack_copy)
    n_kept = int(((stack.days <= 60) & (abs(stack.bperp_m) <= 50)).sum())
    assert f"kept {n_kept} of 30 pairs" in out
    assert main(["network", str(stack_copy), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_kept"] == n_kept and report["n_triplets"] == 24
    assert all(v["misclosed"] == 0 for v in report["loop_closure"].values())
    assert main(["export", str(stack_copy), "--format", "licsbas",
                 "--out", str(tmp_path / "rm.txt")]) == 0
    assert len((tmp_path / "rm.txt").read_text().splitlines()) == 30 - n_kept
    # The labels CSV is what 'invert --labels' reads.
    assert main(["invert", str(stack_copy), "--labels", str(tmp_path / "labels.csv"),
                 "--out", str(tmp_path / "inv")]) == 0
    assert f"inverted {n_kept} pairs" in capsys.readouterr().out
    os.remove(tmp_path / "labels.csv")


def test_cli_network_png(stack_copy, tmp_path):
    png = tmp_path / "network.png"
    assert main(["select", str(stack_copy), "--max-days", "60"]) == 0
    assert main(["network", str(stack_copy), "--no-closure", "--png", str(png)]) == 0
    from osgeo import gdal

    image = gdal.Open(str(png)).ReadAsArray()
    assert image.shape[0] in (3, 4) and image.shape[1] > 300 and image.std() > 10
