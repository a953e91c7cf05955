"""Exceptions raised by the core, each naming the file and what is wrong with it."""

from __future__ import annotations

from pathlib import Path


class StackError(Exception):
    """A stack (or one of its files) cannot be read.

    Parameters
    ----------
    path
        The file or folder at fault.
    problem
        What is wrong, in words a user can act on.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self):  # pickled by its two arguments: raised on a Dask worker, shown here
        return (type(self), (self.path, self.problem))


class ClassifierError(Exception):
    """The model cannot be used (missing, corrupt, mismatched) or onnxruntime is missing."""


class ClusterError(Exception):
    """A Dask cluster cannot be used: dask.distributed is not installed, the scheduler cannot
    be reached, or its workers kept dying."""


def user_message(exc: BaseException) -> str | None:
    """The one line to show for an error the user can act on (bad input, a missing file, a
    full disk, too little memory), or None for a defect of the plugin, whose traceback matters.

    The command line prints it and exits with status 2; QGIS shows it in the message bar or
    as the Processing algorithm's error: one error path for both.
    """
    if isinstance(exc, (StackError, ClassifierError, ClusterError)):
        text = str(exc)
    elif isinstance(exc, MemoryError):
        text = "not enough memory (lower --memory-gb, or check the rasters' sizes)"
    elif isinstance(exc, KeyError):
        text = str(exc.args[0]) if exc.args else "missing key"
    elif isinstance(exc, OSError):
        text = (f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror
                else str(exc))
    elif isinstance(exc, ValueError):
        text = str(exc)
    else:
        return None
    lines = text.strip().splitlines()
    return lines[0] if lines else type(exc).__name__
