"""Files written whole or not at all: a temporary file beside the target, then one rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def default_file_mode(folder: bool = False) -> int:
    """The mode a plain ``open(path, "w")`` (or ``mkdir``, with ``folder``) would give: 0666
    (0777) less the umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return (0o777 if folder else 0o666) & ~umask


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, creating its folder; a reader sees the
    old file or the new one, never half of it, and a failure leaves no temporary file.

    Raises
    ------
    OSError
        When the folder or the file cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(temporary, default_file_mode())  # mkstemp makes 0600: not what users expect
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
