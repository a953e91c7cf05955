"""Strict JSON, the only JSON this plugin writes or trusts: no bare ``NaN``/``Infinity``.

Python's :mod:`json` writes ``NaN`` and ``Infinity`` by default, which no other JSON reader
accepts. Here a non-finite number is written as ``null`` (unknown) and refused on reading.
"""

from __future__ import annotations

import json
import math
from typing import Any


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float (also numpy scalars) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if hasattr(value, "item") and hasattr(value, "dtype"):  # numpy scalar
        return _finite(value.item())
    return value


def dumps(value: Any, **options: Any) -> str:
    """JSON text of ``value``; NaN and infinities become ``null``."""
    return json.dumps(_finite(value), allow_nan=False, **options)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"non-standard JSON value {name}")


def loads(text: str | bytes) -> Any:
    """Parse JSON text, refusing ``NaN``, ``Infinity`` and ``-Infinity``.

    Raises
    ------
    ValueError
        On malformed or non-standard JSON, or nesting too deep to parse.
    """
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
