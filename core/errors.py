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


class ClassifierError(Exception):
    """The model cannot be used (missing, corrupt, mismatched) or onnxruntime is missing."""
