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


def blas_advice() -> str | None:
    """A line of advice where numpy runs the reference BLAS (Debian's default without
    OpenBLAS): everything works, the inversion more slowly (measured in a Debian 13 root:
    its largest product 43.7 against 3.4 ms with OpenBLAS, small solves 81 against 32 us).
    None otherwise."""
    from .blas import serial_blas

    if not serial_blas():
        return None
    return ("numpy runs the reference BLAS (Debian's default without OpenBLAS): the inversion "
            "works, but its largest product runs about 13 times slower and its small solves "
            "about 2.5 times; on Debian, `sudo apt install libopenblas0-pthread` switches "
            "numpy to OpenBLAS")


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


def numpy_pin(version: str | None = None) -> str | None:
    """``numpy==<version loaded here>`` (or of ``version``), so that pip keeps QGIS's numpy:
    1.x on Debian 12 and older QGIS, 2.x on Debian 13 and QGIS 3.40+ for Windows. A local
    build label (``2.1.3+mkl``) is dropped: the version pip finds installed is the public one."""
    if version is None:
        try:
            import numpy
        except ImportError:
            return None
        version = numpy.__version__
    public = version.split("+", 1)[0].strip()
    if not public or not public[0].isdigit():
        return None
    return f"numpy=={public}"


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


#: Where each platform's QGIS keeps its Python, as its installers lay it out: Debian/Ubuntu use
#: the system's Python; the OSGeo4W Shell (Start menu, beside QGIS) puts QGIS's Python first on
#: its PATH, for the standalone installer and the OSGeo4W network installer alike; the macOS
#: bundles carry theirs inside the app (QGIS.app, or QGIS-LTR.app for the long-term release).
PLATFORM_PYTHONS = {
    "linux": "/usr/bin/python3",
    "win32": "python",
    "darwin": "/Applications/QGIS.app/Contents/MacOS/bin/python3",
}
PLATFORM_LABELS = {
    "linux": "Linux (Debian/Ubuntu QGIS)",
    "win32": "Windows (in the OSGeo4W Shell, from the Start menu)",
    "darwin": "macOS (QGIS.app; QGIS-LTR.app for the long-term release)",
}


def manual_commands(packages: list[str], platform: str | None = None,
                    numpy_version: str | None = None) -> dict[str, str]:
    """The command a user types, per platform, to install ``packages`` for QGIS's Python.

    The command for this computer (``platform``, default ``sys.platform``) comes first, with
    the path of the Python that runs here and a pin of the numpy loaded here (``numpy_version``
    overrides it); the other platforms' commands carry no numpy pin (their QGIS's numpy is not
    known here; pip keeps an installed numpy that satisfies the packages anyway).
    """
    here = platform or sys.platform
    here = "linux" if here.startswith("linux") else here
    order = sorted(PLATFORM_LABELS, key=lambda name: name != here)
    commands = {}
    for name in order:
        wanted = packages if name != "darwin" else [
            p.replace("onnxruntime-gpu", "onnxruntime") for p in packages]  # no CUDA on macOS
        python = PLATFORM_PYTHONS[name]
        pin = None
        label = PLATFORM_LABELS[name]
        if name == here:
            pin = numpy_pin(numpy_version)
            label += ", this computer"
            if name != "win32" and platform is None:
                python = qgis_python()
        words = [f'"{python}"' if " " in python else python, "-m", "pip", "install", "--user"]
        if name == "linux":
            words.append("--break-system-packages")  # PEP 668: Debian 12+, Ubuntu 23.04+
        words += [f'"{p}"' for p in wanted] + ([f'"{pin}"'] if pin else [])
        commands[label] = " ".join(words)
    return commands


def activate_user_site() -> None:
    """Make packages just installed with ``--user`` importable without restarting QGIS."""
    user_site = site.getusersitepackages()
    if os.path.isdir(user_site) and user_site not in sys.path:
        site.addsitedir(user_site)
    importlib.invalidate_caches()
