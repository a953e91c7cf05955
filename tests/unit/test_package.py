"""`make package`: what goes into the plugin zip, and the checks that refuse a bad one."""

from __future__ import annotations

import importlib.util
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def package():
    spec = importlib.util.spec_from_file_location("package", REPO / "scripts" / "package.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(package, tmp_path_factory, real_stack_path):
    out = tmp_path_factory.mktemp("dist") / "sbas_selector.zip"
    archive, problems = package.build(out, real_stack_path)
    return archive, problems


def test_zip_holds_the_runtime_only(package, built):
    archive, problems = built
    assert problems == []
    names = set(zipfile.ZipFile(archive).namelist())
    assert all(n.startswith("sbas_selector/") for n in names)
    for needed in ("metadata.txt", "LICENSE", "__init__.py", "plugin.py", "icons/icon.svg",
                   "core/inversion/solver.py", "ui/dock.py", "models/sbas_selector.onnx",
                   "docs/review.md", "docs/images/review_marked.png",
                   "sample_data/mexico_city_cropA/LICENSE", "sample_data/mexico_city_cropA/"
                   "unw/cropA_20180106-20180130_VV_8rlks_eqa_unw.tif"):
        assert f"sbas_selector/{needed}" in names, needed
    # Dask is optional (invert --dask): never shipped, never a plugin requirement.
    assert not any(n.split("/")[1] in ("dask", "distributed") for n in names)
    assert "dask" not in (REPO / "requirements.txt").read_text()
    for name in names:
        assert "/tests/" not in name and "__pycache__" not in name and not name.endswith(".pyc")
        assert not name.endswith("resources_rc.py")  # compiled for one PyQt only
        assert not name.startswith(("sbas_selector/bench/", "sbas_selector/scripts/"))
    assert "sbas_selector/models/train.py" not in names
    # MiB: the int8 model is 23 MB; plugins.qgis.org refuses uploads over 25 MB
    assert 20e6 < archive.stat().st_size < package.REPOSITORY_LIMIT_BYTES


def test_checks_refuse_secrets_binaries_and_bad_metadata(package, tmp_path):
    plugin = package.stage(tmp_path, sample=None)
    assert package.check_metadata(plugin) == [] and package.check_files(plugin) == []
    (plugin / "core" / "leak.py").write_text(
        'AWS_KEY = "AKIAIOSFODNN7EXAMPLE"\nSECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n')
    (plugin / "core" / "helper.so").write_bytes(b"\x7fELF\0\0\0")
    (plugin / "core" / "data.bin").write_bytes(b"\0\1\2")
    (plugin / "core" / "run.py").write_text("import subprocess\n"
                                            "subprocess.call('ls ' + input(), shell=True)\n")
    metadata = plugin / "metadata.txt"
    metadata.write_text(metadata.read_text().replace("email=", "mail="))
    assert any("AWS" in line for line in package.run_detect_secrets(plugin))
    files = package.check_files(plugin)
    assert any("helper.so" in f for f in files) and any("data.bin" in f for f in files)
    assert any("B602" in line for line in package.run_bandit(plugin))
    assert package.check_metadata(plugin) == ["metadata.txt lacks email"]


def test_deploy_installs_and_enables(package, built, tmp_path):
    archive, _ = built
    profile = tmp_path / "profiles" / "default"
    (profile / "QGIS").mkdir(parents=True)
    (profile / "QGIS" / "QGIS3.ini").write_text("[PythonPlugins]\nother=true\n"
                                                "sbas_selector=false\n\n[qgis]\nshowTips=false\n")
    target = package.deploy(archive, profile)
    assert (target / "metadata.txt").is_file() and (target / "icons" / "icon.svg").is_file()
    ini = (profile / "QGIS" / "QGIS3.ini").read_text()
    assert "sbas_selector=true" in ini and "sbas_selector=false" not in ini
    assert "other=true" in ini and "showTips=false" in ini
