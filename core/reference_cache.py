"""The automatic reference pixel of a stack, remembered between runs.

Choosing it reads every pair's phase and coherence once (:meth:`Stack.reference_pixel`): on a
Sentinel-1 frame that is as long as the inversion's own reading. ``classify``, ``network``,
``invert`` and ``export`` each open the stack anew, so the choice is kept in the user's data
folder (never beside the user's files), keyed by the stack's rasters: their paths, sizes and
modification times. A raster changed, added or removed makes a new key, and the choice is made
again. Anything unreadable is ignored: the cache can only save time.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

from .atomic import write_text_atomic
from .paths import user_data_folder

logger = logging.getLogger(__name__)

#: Changes whenever the way the pixel is chosen changes, so that older choices are not reused.
RULE = "valid in most pairs, then highest mean coherence; v1"


def signature(paths: list[Path]) -> str | None:
    """A key of the rasters' paths, sizes and modification times; None where one cannot be
    read."""
    digest = hashlib.blake2b(RULE.encode(), digest_size=16)
    try:
        for path in paths:
            status = os.stat(path)
            digest.update(f"{Path(path).resolve()}\0{status.st_size}\0{status.st_mtime_ns}\n"
                          .encode())
    except OSError:
        return None
    return digest.hexdigest()


def _file(stack_path: Path) -> Path:
    return user_data_folder("reference", stack_path).with_suffix(".json")


def load(stack_path: Path, key: str | None, shape: tuple[int, int]) -> tuple[int, int] | None:
    """The pixel chosen before for rasters of this key, inside a grid of ``shape``; None when
    unknown."""
    if key is None:
        return None
    try:
        stored = json.loads(_file(stack_path).read_text(encoding="utf-8"))
        if stored.get("key") != key:
            return None
        row, col = (int(v) for v in stored["reference_pixel"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if not (0 <= row < shape[0] and 0 <= col < shape[1]):
        return None
    return row, col


def store(stack_path: Path, key: str | None, pixel: tuple[int, int]) -> None:
    """Remember the pixel for rasters of this key (written atomically; failures ignored)."""
    if key is None:
        return
    try:
        write_text_atomic(_file(stack_path),
                          json.dumps({"key": key, "reference_pixel": list(pixel)}))
    except OSError as exc:
        logger.debug("reference pixel not remembered (%s)", exc)
