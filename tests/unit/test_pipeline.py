"""The whole job in one command: open, classify, select, export, invert, summary."""

from __future__ import annotations

import json
import re

from osgeo import gdal

from sbas_selector.cli import main


def test_pipeline_on_the_real_stack_writes_a_summary(real_stack_path, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["pipeline", str(real_stack_path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out / "summary.html") in printed and "Add Raster Layer" in printed
    figures = json.loads((out / "summary.json").read_text())
    assert figures["pairs"] == 30 and figures["dates"] == 13
    assert 0 < figures["kept by the model"] <= figures["kept in all"] <= 30
    assert figures["network"] == "connected"  # re-admission keeps it in one piece
    assert figures["inference"].startswith("CPU")
    velocity = gdal.Open(str(out / "inversion" / "velocity.tif")).ReadAsArray()
    assert figures["pixels solved"] == int((velocity == velocity).sum())  # finite pixels
    png = gdal.Open(str(out / "summary.png")).ReadAsArray()
    assert png.shape[1:] == (860, 1300) and png.std() > 20  # a drawn page, not blank
    page = (out / "summary.html").read_text()
    for link in re.findall(r'href="([^"]+)"', page):
        assert (out / link).is_file(), link  # every link points at a file written
    assert "exports/licsbas_rm_ifg_list.txt" in page and "inversion/velocity.tif" in page
    kept = json.loads((out / "labels.json").read_text())
    assert len(kept["pairs"]) == 30
    assert not (real_stack_path / "sbas_selector_labels.json").exists()  # the stack untouched
