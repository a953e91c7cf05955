"""Raster headers are read once per file version and remembered between opens."""

from __future__ import annotations

import json

import pytest

from sbas_selector.core import open_stack
from sbas_selector.core.formats import common
from sbas_selector.core.simulation import SimulationConfig, simulate, write_simulation


@pytest.fixture()
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    sim = simulate(SimulationConfig(seed=4, n_dates=8, rows=32, cols=40))
    return write_simulation(sim, tmp_path / "sim", formats=("hyp3",))["hyp3"]


@pytest.fixture()
def inspected(monkeypatch):
    """The files GDAL opened to read their headers, in order."""
    opened = []
    inspect = common.inspect_raster
    monkeypatch.setattr(common, "inspect_raster",
                        lambda path: opened.append(path.name) or inspect(path))
    return opened


def _summary(stack):
    return ([p.pair_id for p in stack.pairs], stack.grid, stack.has_coherence,
            [str(s) for s in stack.skipped])


def test_a_second_open_reads_no_header_and_gives_the_same_stack(folder, inspected):
    first = open_stack(folder)
    n_files = len(inspected)
    assert n_files == 2 * len(first.pairs)  # phase and coherence of every pair
    second = open_stack(folder)
    assert len(inspected) == n_files  # nothing opened again
    assert _summary(second) == _summary(first)
    assert second.grid.geotransform == first.grid.geotransform
    assert second.grid.crs_wkt == first.grid.crs_wkt


def test_a_changed_raster_is_inspected_again_and_its_problem_reported(folder, inspected):
    open_stack(folder)
    phase = sorted(folder.glob("*/*_unw_phase.tif"))[0]
    data = phase.read_bytes()
    phase.write_bytes(data[: len(data) // 2])  # truncated after it was remembered
    inspected.clear()
    stack = open_stack(folder)
    assert inspected == [phase.name]  # the one file whose size changed
    assert phase.name.split("_unw")[0] not in [p.pair_id for p in stack.pairs]
    assert any(s.path == phase and "truncated" in s.reason for s in stack.skipped)
    inspected.clear()
    open_stack(folder)
    assert inspected == [phase.name]  # an unreadable raster is never remembered


def test_an_unreadable_or_foreign_cache_is_ignored(folder, tmp_path, inspected):
    expected = _summary(open_stack(folder))
    (cached,) = (tmp_path / "xdg" / "sbas_selector" / "headers").rglob("*.json")
    stored = json.loads(cached.read_text())
    entry = next(iter(stored["files"].values()))
    for text in ("{not json", "[]", '{"version": 2, "files": 3, "crs": []}',
                 json.dumps({**stored, "version": 0}), json.dumps({**stored, "crs": []}),
                 json.dumps({**stored, "files": {k: {"identity": entry["identity"],
                                                     "info": {"width": "x"}}
                                                 for k in stored["files"]}})):
        cached.write_text(text)
        inspected.clear()
        assert _summary(open_stack(folder)) == expected
        assert len(inspected) == len(stored["files"])  # all read again
    inspected.clear()
    assert _summary(open_stack(folder)) == expected
    assert inspected == []  # and remembered again


def test_a_data_folder_that_cannot_be_written_costs_nothing_but_time(folder, tmp_path,
                                                                       inspected):
    blocked = tmp_path / "xdg" / "sbas_selector" / "headers"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("a file where the cache's folder would be")
    first = _summary(open_stack(folder))
    n_files = len(inspected)
    assert _summary(open_stack(folder)) == first
    assert len(inspected) == 2 * n_files  # read again, nothing raised


def test_a_removed_product_is_forgotten(folder, tmp_path):
    open_stack(folder)
    (cached,) = (tmp_path / "xdg" / "sbas_selector" / "headers").rglob("*.json")
    before = set(json.loads(cached.read_text())["files"])
    product = sorted(p for p in folder.iterdir() if p.is_dir())[0]
    for path in product.iterdir():
        path.unlink()
    product.rmdir()
    open_stack(folder)
    after = set(json.loads(cached.read_text())["files"])
    assert after < before
    assert not any(product.name in name for name in after)
