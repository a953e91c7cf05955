"""Where the plugin may write: beside the stack when its folder allows it, else the user's
data folder. A folder without write permission bits is respected even when running as root,
so shared, read-only data stays untouched."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

#: Data shipped inside the plugin (the sample stack): never written to, so that an upgrade
#: of the plugin loses nothing of the user's.
SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"
#: Where a development checkout finds the same sample (the shared real data).
_SHARED_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
SAMPLE_STACK_NAME = "mexico_city_cropA"


def sample_stack() -> Path | None:
    """The bundled sample stack (the real Mexico City stack), or None where it is absent."""
    for root in (SAMPLE_DATA, _SHARED_SAMPLE):
        candidate = root / SAMPLE_STACK_NAME
        if (candidate / "unw").is_dir():
            return candidate
    return None


def in_sample_data(folder: Path) -> bool:
    """Whether ``folder`` is in the sample data bundled with the plugin."""
    resolved = folder.resolve()
    return resolved == SAMPLE_DATA or SAMPLE_DATA in resolved.parents


def is_writable_folder(folder: Path) -> bool:
    """Whether files may be created in ``folder`` (never inside the bundled sample data)."""
    if in_sample_data(folder):
        return False
    return (folder.is_dir() and os.access(folder, os.W_OK)
            and bool(folder.stat().st_mode & 0o222))


def user_data_folder(kind: str, stack_path: str | Path) -> Path:
    """``$XDG_DATA_HOME/sbas_selector/<kind>/<stack name>-<hash of its path>``."""
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    resolved = Path(stack_path).resolve()
    digest = hashlib.sha1(str(resolved).encode(), usedforsecurity=False).hexdigest()[:16]
    return base / "sbas_selector" / kind / f"{resolved.name}-{digest}"


def default_inversion_folder(stack_path: str | Path) -> Path:
    """``<stack>_sbas`` beside the stack folder (or MintPy file), else in the user's data."""
    stack_path = Path(stack_path)
    base = stack_path.parent if stack_path.is_file() else stack_path
    if is_writable_folder(base.parent):
        return base.parent / f"{base.name}_sbas"
    return user_data_folder("inversions", stack_path)


def process_running(pid: int) -> bool:
    """Whether a process of this id is running (this process counts as running), so that the
    temporary files of a killed write can be told from those of a write in progress."""
    if pid == os.getpid():
        return True
    if pid <= 0:  # (0 and negative ids name process groups)
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # someone else's process
        return True
    return True
