"""What the plugin needs beyond QGIS, and the commands that install it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sbas_selector.core import dependencies as deps
from sbas_selector.core.dependencies import Requirement


def test_missing_and_broken_modules_are_told_apart(tmp_path, monkeypatch):
    (tmp_path / "sbas_broken_module.py").write_text("raise ImportError('libfoo.so missing')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = deps.find_missing((Requirement("numpy", "numpy", "arrays"),
                               Requirement("sbas_no_such_module", "nope", "nothing"),
                               Requirement("sbas_broken_module", "broken", "testing")))
    assert [m.requirement.module for m in found] == ["sbas_no_such_module",
                                                     "sbas_broken_module"]
    assert found[0].reason == "not installed"
    assert "fails to load" in found[1].reason and "libfoo.so" in found[1].reason


def test_gpu_package_only_with_a_cuda_driver():
    missing = [deps.Missing(deps.REQUIREMENTS[0], "not installed"),
               deps.Missing(deps.REQUIREMENTS[2], "not installed")]
    assert deps.pip_names(missing, cuda=True) == [
        f"onnxruntime-gpu=={deps.ONNXRUNTIME_VERSION}", "h5py"]
    assert deps.pip_names(missing, cuda=False)[0] == f"onnxruntime=={deps.ONNXRUNTIME_VERSION}"


def test_cuda_driver_detection(monkeypatch):
    """The driver counts when its /proc entry exists, or when libcuda can be loaded."""
    monkeypatch.setattr(deps.sys, "platform", "linux")
    monkeypatch.setattr(deps.Path, "exists", lambda self: False)
    monkeypatch.setattr(deps.ctypes.util, "find_library", lambda name: None)
    assert deps.cuda_driver_present() is False
    monkeypatch.setattr(deps.ctypes.util, "find_library", lambda name: "libcuda.so.1")
    monkeypatch.setattr(deps.ctypes, "CDLL", lambda path: object())
    assert deps.cuda_driver_present() is True

    def broken(path):
        raise OSError("libcuda.so.1: cannot open shared object file")

    monkeypatch.setattr(deps.ctypes, "CDLL", broken)
    assert deps.cuda_driver_present() is False
    monkeypatch.setattr(deps.Path, "exists", lambda self: str(self).startswith("/proc/driver"))
    assert deps.cuda_driver_present() is True
    monkeypatch.setattr(deps.sys, "platform", "darwin")
    assert deps.cuda_driver_present() is False


def test_install_arguments_keep_numpy_and_respect_pep_668(tmp_path):
    constraints = tmp_path / "c.txt"
    arguments = deps.install_arguments(["onnxruntime==1.31.1"], python="/usr/bin/python3",
                                       constraints_file=str(constraints))
    assert arguments[:5] == ["/usr/bin/python3", "-m", "pip", "install", "--user"]
    assert arguments[-1] == "onnxruntime==1.31.1"
    assert arguments[arguments.index("--constraint") + 1] == str(constraints)
    assert ("--break-system-packages" in arguments) == deps.externally_managed()
    import numpy

    assert deps.numpy_pin() == f"numpy=={numpy.__version__}"


@pytest.mark.parametrize("version, pin", [("1.24.2", "numpy==1.24.2"),  # Debian 12
                                          ("1.26.4", "numpy==1.26.4"),  # QGIS <= 3.38, Windows
                                          ("2.2.4", "numpy==2.2.4"),  # Debian 13
                                          ("2.1.3+mkl", "numpy==2.1.3"),  # a local build label
                                          ("", None)])
def test_numpy_pin_of_numpy_1_and_2(version, pin):
    assert deps.numpy_pin(version) == pin


@pytest.mark.parametrize("platform, numpy_version", [("linux", "1.24.2"), ("win32", "2.1.3"),
                                                     ("darwin", "1.26.4"), ("linux", "2.2.4")])
def test_manual_commands_per_platform(platform, numpy_version):
    """This computer's command first, with its numpy pinned; the others without a pin."""
    commands = deps.manual_commands(["onnxruntime-gpu==1.31.1"], platform=platform,
                                    numpy_version=numpy_version)
    labels = list(commands)
    assert len(labels) == 3 and labels[0].endswith("this computer")
    assert labels[0].startswith({"linux": "Linux", "win32": "Windows", "darwin": "macOS"}[
        platform])
    assert all(" -m pip install --user " in c for c in commands.values())
    assert commands[labels[0]].endswith(f'"numpy=={numpy_version}"')
    assert all("numpy==" not in commands[label] for label in labels[1:])
    by_platform = {label.split(" ")[0]: command for label, command in commands.items()}
    assert by_platform["Windows"].startswith("python -m pip")  # the OSGeo4W Shell's Python
    assert by_platform["macOS"].startswith("/Applications/QGIS.app/Contents/MacOS/bin/python3 ")
    assert "onnxruntime-gpu" not in by_platform["macOS"]  # no CUDA on macOS
    assert "--break-system-packages" in by_platform["Linux"]
    assert all("--break-system-packages" not in by_platform[name] for name in ("Windows",
                                                                               "macOS"))


def test_manual_command_here_uses_this_python():
    commands = deps.manual_commands(["onnxruntime==1.31.1"])
    here = next(iter(commands.values()))
    assert deps.qgis_python() in here and deps.numpy_pin() in here


def test_qgis_python_is_this_interpreter_under_its_prefix():
    import subprocess

    python = deps.qgis_python()
    assert Path(python).name.startswith("python") and python.startswith(sys.prefix)
    version = subprocess.run([python, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == str(sys.version_info[:2])


def test_cli_doctor(capsys):
    from sbas_selector.cli import main

    assert main(["doctor"]) == 0  # the venv has everything
    assert "every package the plugin needs" in capsys.readouterr().out


@pytest.mark.parametrize("serial", [True, False])
def test_cli_doctor_advises_openblas_where_numpy_runs_the_reference_blas(serial, capsys,
                                                                          monkeypatch):
    """Advice, not a failure: the reference BLAS works, its products are slower."""
    from sbas_selector.cli import main
    from sbas_selector.core import blas

    monkeypatch.setattr(blas, "serial_blas", lambda: serial)
    assert main(["doctor"]) == 0  # (dependencies.blas_advice reads it at each call)
    out = capsys.readouterr().out
    assert ("libopenblas0-pthread" in out) is serial
    assert "every package the plugin needs" in out
