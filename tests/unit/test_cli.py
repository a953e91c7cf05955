from __future__ import annotations

import json

from sbas_selector.cli import main


def test_info_json_on_real_stack(real_stack_path, capsys):
    assert main(["info", str(real_stack_path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    for key in ("n_dates", "n_pairs", "pairs", "width", "height", "crs", "wavelength_m"):
        assert key in info
    assert (info["n_dates"], info["n_pairs"], info["width"], info["height"]) == (13, 30, 100, 60)
    assert info["crs"] == "EPSG:4326"
    assert info["pairs"][0]["pair_id"] == "20180106_20180130"
    assert abs(info["pairs"][0]["bperp_m"] - 30.34) < 0.01


def test_simulate_all_formats_then_info_each(tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["simulate", "--out", str(out), "--seed", "2", "--format", "all",
                 "--dates", "8", "--size", "32x40"]) == 0
    capsys.readouterr()
    counts = set()
    for target in ("hyp3", "mintpy", "GEOCml1", "geotiff"):
        assert main(["info", str(out / target), "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        counts.add((info["n_dates"], info["n_pairs"], info["width"], info["height"]))
    assert len(counts) == 1  # every format holds the same stack
    n_dates, n_pairs, width, height = counts.pop()
    assert (n_dates, width, height) == (8, 40, 32) and n_pairs >= 7
    labels = (out / "truth" / "labels.csv").read_text().splitlines()
    assert labels[0].startswith("pair_id,date1,date2")
    assert (out / "truth" / "velocity.tif").is_file()


def test_bad_arguments_exit_2(tmp_path, capsys):
    assert main(["simulate", "--out", str(tmp_path), "--format", "shapefile"]) == 2
    assert "unknown format" in capsys.readouterr().err
