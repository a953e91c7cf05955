"""Pure computational core of the SBAS interferogram selector.

Nothing in this package imports ``qgis`` or Qt: everything here runs headless, from the command
line, in tests and in background tasks.
"""

from __future__ import annotations

from .errors import StackError
from .formats import detect_format, open_stack
from .stack import Grid, Pair, SkippedFile, Stack, Window

__all__ = [
    "Grid",
    "Pair",
    "SkippedFile",
    "Stack",
    "StackError",
    "Window",
    "detect_format",
    "open_stack",
]
