"""The automatic reference pixel is chosen once per set of rasters and remembered."""

from __future__ import annotations

import json
import os

import pytest

from sbas_selector.core import open_stack
from sbas_selector.core.simulation import SimulationConfig, simulate, write_simulation
from sbas_selector.core.stack import Stack


@pytest.fixture()
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    sim = simulate(SimulationConfig(seed=4, n_dates=8, rows=32, cols=40))
    return write_simulation(sim, tmp_path / "sim", formats=("hyp3",))["hyp3"]


def _no_choice(self):
    raise AssertionError("the stack was read again to choose the reference pixel")


def test_second_open_reuses_the_choice_and_a_changed_raster_makes_a_new_one(folder,
                                                                           monkeypatch):
    chosen = open_stack(folder).reference_pixel
    with monkeypatch.context() as patch:
        patch.setattr(Stack, "_choose_reference_pixel", _no_choice)
        assert open_stack(folder).reference_pixel == chosen
    phase = sorted(folder.glob("*/*_unw_phase.tif"))[0]
    status = os.stat(phase)
    os.utime(phase, ns=(status.st_atime_ns, status.st_mtime_ns + 10**9))  # rewritten
    calls = []
    choose = Stack._choose_reference_pixel
    monkeypatch.setattr(Stack, "_choose_reference_pixel",
                        lambda self: calls.append(1) or choose(self))
    assert open_stack(folder).reference_pixel == chosen
    assert calls == [1]


def test_an_unreadable_or_foreign_cache_is_ignored(folder, tmp_path):
    chosen = open_stack(folder).reference_pixel
    (cached,) = (tmp_path / "xdg" / "sbas_selector" / "reference").rglob("*.json")
    for text in ("{not json", '{"key": 3}', '{"reference_pixel": [1, 2]}', "[]"):
        cached.write_text(text)
        assert open_stack(folder).reference_pixel == chosen
    stored = json.loads(cached.read_text())
    cached.write_text(json.dumps({**stored, "reference_pixel": [99999, 0]}))  # off the grid
    assert open_stack(folder).reference_pixel == chosen
    assert json.loads(cached.read_text())["reference_pixel"] == list(chosen)


def test_a_stack_without_files_is_not_remembered(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    sim = simulate(SimulationConfig(seed=4, n_dates=8, rows=32, cols=40))
    sim.to_stack().reference_pixel  # noqa: B018 (chosen from arrays in memory)
    assert not (tmp_path / "xdg").exists()
