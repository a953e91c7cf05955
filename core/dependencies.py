"""What the plugin needs beyond what QGIS ships, whether this Python has it, and how to get it.

Pure Python (no Qt): the dock's dependency dialog and ``sbas-selector doctor`` both use it.
QGIS runs its own Python, so every command names that interpreter. QGIS's numpy is kept: the
install is constrained to the numpy version already loaded (numpy 2 breaks GDAL's bindings
built for numpy 1).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import importlib.util
import os
import site
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

#: onnxruntime version the shipped model and the tests use.
ONNXRUNTIME_VERSION = "1.31.1"


@dataclass(frozen=True)
class Requirement:
    """One Python module the plugin imports."""

    module: str
    pip_name: str
    needed_for: str
    required: bool = True  # False: only one feature fails without it


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("onnxruntime", "onnxruntime", "classifying interferograms"),
    Requirement("scipy", "scipy", "network checks, selection and the inversion"),
    Requirement("h5py", "h5py", "reading MintPy ifgramStack.h5", required=False),
)


@dataclass(frozen=True)
class Missing:
    """A requirement this Python lacks, and why (the import error)."""

    requirement: Requirement
    reason: str


def find_missing(requirements: tuple[Requirement, ...] = REQUIREMENTS) -> list[Missing]:
    """Requirements that cannot be imported here (a module that is found but fails to load,
    e.g. a missing DLL, counts as missing, with its error)."""
    importlib.invalidate_caches()
    missing = []
    for requirement in requirements:
        if requirement.module in sys.modules:
            continue
        if importlib.util.find_spec(requirement.module) is None:
            missing.append(Missing(requirement, "not installed"))
            continue
        try:
            importlib.import_module(requirement.module)
        except Exception as exc:  # (an extension module can raise anything)
            missing.append(Missing(requirement, f"installed but fails to load: {exc}"))
    return missing


def cuda_driver_present() -> bool:
    """Whether an NVIDIA CUDA driver is installed (then onnxruntime-gpu is worth its size)."""
    if sys.platform == "darwin":
        return False
    if Path("/proc/driver/nvidia/version").exists():
        return True
    name = "nvcuda" if os.name == "nt" else "cuda"
    path = ctypes.util.find_library(name)
    if path is None:
        return False
    try:
        loader = ctypes.WinDLL if os.name == "nt" else ctypes.CDLL  # type: ignore[attr-defined]
        loader(path)
    except OSError:
        return False
    return True


def onnxruntime_package(cuda: bool | None = None) -> str:
    """``onnxruntime-gpu`` where a CUDA driver is present (it also runs on the CPU), else
    ``onnxruntime``; pinned to the tested version."""
    cuda = cuda_driver_present() if cuda is None else cuda
    return f"{'onnxruntime-gpu' if cuda else 'onnxruntime'}=={ONNXRUNTIME_VERSION}"


def pip_names(missing: list[Missing], cuda: bool | None = None) -> list[str]:
    """The pip requirement strings that install what is missing."""
    names = []
    for item in missing:
        if item.requirement.module == "onnxruntime":
            names.append(onnxruntime_package(cuda))
        else:
            names.append(item.requirement.pip_name)
    return names


def qgis_python() -> str:
    """The interpreter of the Python that QGIS embeds: the one under ``sys.prefix`` with this
    version (``sys.executable`` is QGIS itself on Windows and macOS, and on Linux it may be
    whatever ``python3`` comes first on the PATH, e.g. a pyenv shim)."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = []
    for prefix in dict.fromkeys((sys.prefix, sys.exec_prefix)):
        root = Path(prefix)
        candidates += [root / "bin" / f"python{version}", root / "bin" / "python3",
                       root / "python.exe", root / "python3.exe"]
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    return sys.executable or "python3"


def externally_managed() -> bool:
    """Whether this Python refuses pip installs without ``--break-system-packages`` (PEP 668,
    as Debian's and Ubuntu's Python do, even for ``--user``)."""
    return (Path(sysconfig.get_paths()["stdlib"]) / "EXTERNALLY-MANAGED").exists()


def numpy_pin() -> str | None:
    """``numpy==<version loaded here>``, so that pip keeps QGIS's numpy."""
    try:
        import numpy
    except ImportError:
        return None
    return f"numpy=={numpy.__version__}"


def install_arguments(packages: list[str], python: str | None = None,
                      constraints_file: str | None = None) -> list[str]:
    """The argument list that installs ``packages`` into the user's site-packages of QGIS's
    Python, keeping its numpy (through ``constraints_file``, which holds :func:`numpy_pin`)."""
    arguments = [python or qgis_python(), "-m", "pip", "install", "--user",
                 "--disable-pip-version-check", "--no-input"]
    if externally_managed():
        # PEP 668 refuses even --user installs; the user site is the user's own folder.
        arguments.append("--break-system-packages")
    if constraints_file:
        arguments += ["--constraint", constraints_file]
    return arguments + packages


def manual_commands(packages: list[str]) -> dict[str, str]:
    """The command a user types, per platform, to install ``packages`` for QGIS's Python."""
    pin = numpy_pin()
    keep = f' "{pin}"' if pin else ""
    wanted = " ".join(f'"{p}"' for p in packages)
    return {
        "Linux (Debian/Ubuntu QGIS)": "/usr/bin/python3 -m pip install --user "
                                      f"--break-system-packages {wanted}{keep}",
        "Windows (OSGeo4W Shell, as administrator for all users)":
            f"python -m pip install --user {wanted}{keep}",
        "macOS (QGIS.app)": "/Applications/QGIS.app/Contents/MacOS/bin/python3 -m pip install "
                            f"--user {wanted.replace('onnxruntime-gpu', 'onnxruntime')}{keep}",
    }


def activate_user_site() -> None:
    """Make packages just installed with ``--user`` importable without restarting QGIS."""
    user_site = site.getusersitepackages()
    if os.path.isdir(user_site) and user_site not in sys.path:
        site.addsitedir(user_site)
    importlib.invalidate_caches()
