"""The real QGIS 3.22 desktop, under Xvfb, loads the plugin from a fresh profile."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "tests" / "gui" / "output"

pytestmark = pytest.mark.gui


def _fresh_profile(root: Path) -> Path:
    profiles = root / "profiles"
    profile = profiles / "default"
    (profile / "python" / "plugins").mkdir(parents=True)
    (profile / "python" / "plugins" / "sbas_selector").symlink_to(REPO, target_is_directory=True)
    (profile / "QGIS").mkdir()
    (profile / "QGIS" / "QGIS3.ini").write_text(
        "[PythonPlugins]\nsbas_selector=true\n\n"
        "[qgis]\nshowTips=false\ncheckVersion=false\nallowVersionCheck=false\n"
    )
    return root  # QGIS looks for <root>/profiles/<name>


def _run_desktop(tmp_path: Path, driver: str, extra_env: dict[str, str],
                 timeout: int = 300) -> tuple[dict, Path]:
    """Run ``driver`` in the QGIS desktop under Xvfb with the plugin in a fresh profile;
    returns its JSON result (checked free of errors) and its output folder."""
    if not (shutil.which("xvfb-run") and shutil.which("qgis")):
        pytest.fail("xvfb-run and qgis are required (make setup installs them)")
    import sysconfig

    out = tmp_path / "out"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env.update({"SBAS_GUI_OUT": str(out), "SBAS_GUI_DIR": str(REPO / "tests" / "gui"),
                "XDG_DATA_HOME": str(tmp_path / "xdg"), **extra_env})
    # QGIS runs Debian's Python: give it the venv's packages (onnxruntime), as a user who
    # installed onnxruntime for QGIS would have them.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [sysconfig.get_paths()["purelib"],
                                                      env.get("PYTHONPATH")]))
    command = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", "qgis", "--nologo",
               "--noversioncheck", "--profiles-path", str(_fresh_profile(tmp_path)),
               "--profile", "default", "--code", str(REPO / "tests" / "gui" / driver)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True,
                               timeout=timeout)
    result_file = out / "result.json"
    assert result_file.is_file(), completed.stdout[-2000:] + completed.stderr[-2000:]
    result = json.loads(result_file.read_text())
    assert "error" not in result, result.get("error")
    return result, out


def test_desktop_review_real_stack_click_mark_export(tmp_path, real_stack_path):
    result, out = _run_desktop(tmp_path, "desktop_driver.py",
                               {"SBAS_GUI_STACK": str(real_stack_path)})
    assert result["loaded"] and result["dock_visible"]
    assert result["n_pairs"] == 30 and "30 pairs" in result["status"]
    assert result["classified"] and result["provider"].startswith("Inference: CPU: ")
    assert 0 <= result["model_kept"] <= 30
    assert result["clicked"] == "20180307_20180611"
    assert result["label_after_d"] == "low"
    assert "Network" in result["health"]
    assert result["export"].splitlines() == result["dropped"]
    assert "20180307_20180611" in result["dropped"]
    # The shared data stays untouched: labels went to the user's data folder.
    assert not (real_stack_path / "sbas_selector_labels.json").exists()
    assert list((tmp_path / "xdg").rglob("*.json"))
    from osgeo import gdal

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name in ("qgis_plugin_loaded.png", "classified.png", "review_graph_click.png",
                 "review_marked.png", "dock_review.png"):
        shot = out / name
        assert shot.stat().st_size > 20_000, name
        assert gdal.Open(str(shot)).ReadAsArray().std() > 10, name  # not a blank window
        shutil.copy(shot, SCREENSHOTS / name)


def test_install_from_zip_in_a_fresh_profile_then_the_whole_path(tmp_path, real_stack_path):
    """The zip goes through QGIS's own "Install from ZIP"; QGIS's Python has no onnxruntime
    at first, so the dependency dialog must appear, and go once onnxruntime is importable."""
    if not (shutil.which("xvfb-run") and shutil.which("qgis")):
        pytest.fail("xvfb-run and qgis are required (make setup installs them)")
    import importlib.util
    import sysconfig

    spec = importlib.util.spec_from_file_location("package", REPO / "scripts" / "package.py")
    package = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(package)
    archive, problems = package.build(tmp_path / "sbas_selector.zip", real_stack_path)
    assert problems == []
    root = tmp_path / "qgis"
    profile = root / "profiles" / "default"
    (profile / "python" / "plugins").mkdir(parents=True)
    (profile / "QGIS").mkdir()
    (profile / "QGIS" / "QGIS3.ini").write_text(
        "[qgis]\nshowTips=false\ncheckVersion=false\nallowVersionCheck=false\n\n"
        "[app]\nplugin_installer\\checkOnStart=false\n")
    out = tmp_path / "out"
    out.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("QT_QPA_PLATFORM", "PYTHONPATH", "VIRTUAL_ENV")}
    # Nor any venv through PATH: QGIS's embedded Python finds its home from the first
    # python3 on PATH, so a make test run from a shell with a venv activated (this one's or
    # another's) gave it that venv's packages (onnxruntime among them) and this fresh
    # desktop was not fresh.
    env["PATH"] = os.pathsep.join(part for part in env.get("PATH", "").split(os.pathsep)
                                  if part and not (Path(part).parent / "pyvenv.cfg").exists())
    env.update({"SBAS_GUI_OUT": str(out), "SBAS_GUI_ZIP": str(archive),
                "SBAS_GUI_DIR": str(REPO / "tests" / "gui"),
                "SBAS_GUI_SITE": sysconfig.get_paths()["purelib"],
                "XDG_DATA_HOME": str(tmp_path / "xdg"), "PYTHONNOUSERSITE": "1"})
    command = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", "qgis", "--nologo",
               "--noversioncheck", "--profiles-path", str(root), "--profile", "default",
               "--code", str(REPO / "tests" / "gui" / "zip_driver.py")]
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=400)
    result_file = out / "result.json"
    assert result_file.is_file(), completed.stdout[-2000:] + completed.stderr[-2000:]
    result = json.loads(result_file.read_text())
    assert "error" not in result, result.get("error")
    assert result["onnxruntime_at_start"] is False and result["installed_before"] is False
    assert result["installed"]
    assert result["plugin_file"].startswith(str(profile / "python" / "plugins" /
                                                "sbas_selector"))
    assert result["dialog_shown"] and "onnxruntime" in result["dialog_text"]
    assert "Python used by QGIS: /usr/bin/python3" in result["dialog_text"]  # not a shim
    assert "pip install --user" in result["dialog_commands"]
    assert "onnxruntime is not installed" in result["provider_before"]
    assert result["dialog_visible_after"] is False
    assert result["provider_after"].startswith("Inference: CPU: ")
    assert result["sample_pairs"] == 30
    assert "sample_data/mexico_city_cropA" in result["sample_path"]
    assert result["classified"] and result["provider_after_classify"].startswith(
        "Inference: CPU: ")
    assert result["label_after_d"] == "low" and result["dropped_by_hand"] in result["export"]
    assert result["inverted"] and result["velocity_layer"] == "Velocity (mm/yr)"
    assert result["help_source"].endswith("sbas_selector/docs/invert.md")
    # Nothing was written into the installed plugin (labels, outputs go to the user's data).
    installed = profile / "python" / "plugins" / "sbas_selector"
    assert not list(installed.rglob("*labels*.json")) and not list(installed.rglob("*_sbas"))
    from osgeo import gdal

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name in ("dependencies_dialog.png", "sample_loaded.png", "inverted.png", "help.png"):
        shot = out / name
        assert shot.stat().st_size > 10_000, name
        assert gdal.Open(str(shot)).ReadAsArray().std() > 10, name
        shutil.copy(shot, SCREENSHOTS / name)


def test_desktop_first_hour_crs_keys_groups_keep_connected_reference(tmp_path, real_stack_path):
    """Issue 13's "done when", in the real desktop: a UTM stack in an EPSG:3857 project is in
    view; K/D after filtering change only the highlighted pair; Keep connected accepts one
    proposal of several; a reference point is chosen by clicking the map; two stacks inverted
    one after another each have their velocity on top of their own group."""
    from sbas_selector.core.formats.hyp3 import write_hyp3
    from sbas_selector.core.simulation import SimulationConfig, simulate

    utm_stack = write_hyp3(simulate(SimulationConfig(seed=7, n_dates=20, rows=96, cols=128))
                           .to_stack(), tmp_path / "utm_hyp3")
    result, out = _run_desktop(tmp_path, "first_hour_driver.py",
                               {"SBAS_GUI_STACK": str(real_stack_path),
                                "SBAS_GUI_UTM_STACK": str(utm_stack)}, timeout=330)
    # 1. The UTM stack, in a Web Mercator project, fills the view.
    assert result["opened_utm"] and result["canvas_crs"] == "EPSG:3857"
    assert result["layer_crs"].startswith("EPSG:326")
    assert result["stack_in_view"] and 1.0 <= result["view_over_stack_width"] < 3.0
    assert result["scale"] < 1e6  # the bug showed 1:1,465,194,624
    # 2. After filtering, K then D: the highlighted pair, and only it.
    assert result["first"] != result["second"]
    assert result["current_after_k"] == result["highlighted_after_k"] == result["second"]
    assert result["first_final"] == "high" and result["second_override"] == "low"
    assert result["overridden"] == sorted([result["first"], result["second"]])
    # 3. Keep connected: one proposal of several accepted alone.
    assert result["n_proposals"] >= 3 and result["current_is_proposal"]
    assert result["readmitted"] == [result["accepted"]]
    assert result["still_proposed"] == result["n_proposals"] - 1
    # 4. The reference point clicked on the map, shown, and used by the inversion.
    assert result["reference_tool_active"] and result["marker_shown"]
    assert result["reference_pixel"] == [10, 20] == result["first_reference"]
    assert "row 10, col 20" in result["reference_label"]
    # 5. Each stack's velocity on top of its own group, the newest stack on top.
    assert result["opened_real"] and len(result["groups"]) == 2
    assert result["groups"][0].endswith("mexico_city_cropA")
    assert result["groups"][1].endswith("utm_hyp3")
    for (inversion, source, visible), velocity in zip(result["tops"], result["velocity_files"]):
        assert inversion == "SBAS inversion" and source == velocity and visible
    assert result["plotted"] == [[8, 95], [50, 10]]
    assert "±" in result["plot_legend"][0]
    from osgeo import gdal

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name in ("utm_in_mercator.png", "dock_filtered.png", "keep_connected.png",
                 "inverted_two_pixels.png"):
        shot = out / name
        assert shot.stat().st_size > 10_000, name
        assert gdal.Open(str(shot)).ReadAsArray().std() > 10, name
        shutil.copy(shot, SCREENSHOTS / name)


def test_desktop_small_unwrapping_errors_shown_and_decided(tmp_path):
    """Issue 12 in the real desktop: a repaired pair's patches in the panel and outlined on the
    map, the closure layer in the stack's group, the graph's marks, a patch masked."""
    from sbas_selector.core.formats.hyp3 import write_hyp3
    from sbas_selector.core.simulation import SimulationConfig, simulate

    stack = write_hyp3(simulate(SimulationConfig(seed=3, n_dates=16, rows=96, cols=128,
                                                 small_error_fraction=0.3,
                                                 low_quality_fraction=0.1)).to_stack(),
                       tmp_path / "hyp3")
    result, out = _run_desktop(tmp_path, "repair_driver.py", {"SBAS_GUI_STACK": str(stack)},
                               timeout=240)
    assert result["opened"] and "repaired" in result["status"]
    assert result["repaired_pairs"] >= 1 and result["graph_marks"] == result["repaired_pairs"]
    assert result["panel_rows"] >= 1 and "unwrapping error" in result["panel_summary"]
    assert result["outlines"] == result["panel_rows"] and result["closure_layer"]
    assert result["masked"] and result["action_after"] == "mask"
    assert result["outline_action"] == "mask"
    from osgeo import gdal

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name in ("repair_patch.png",):
        shot = out / name
        assert shot.stat().st_size > 10_000, name
        assert gdal.Open(str(shot)).ReadAsArray().std() > 10, name
        shutil.copy(shot, SCREENSHOTS / name)
