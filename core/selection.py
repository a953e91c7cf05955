"""Which pairs to use: keep/drop from a labels CSV, checked against the stack."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from .dates import pair_id, parse_pair_id, parse_yyyymmdd
from .errors import StackError
from .labels import pair_mismatch
from .stack import Stack

_LABEL_COLUMNS = ("final_label", "label")
_HIGH = {"high", "keep", "1", "true", "yes"}
_LOW = {"low", "drop", "0", "false", "no"}


def keep_from_labels_csv(path: str | Path, stack: Stack) -> np.ndarray:
    """Keep (True) the pairs whose final label is high, from a CSV with ``date1,date2`` (or
    ``pair_id``) and ``final_label`` (or ``label``) columns.

    Raises
    ------
    StackError
        When the file is unreadable, lacks the columns, or its pairs do not match the stack's
        (the difference is named).
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            fields = reader.fieldnames or []
            label_column = next((c for c in _LABEL_COLUMNS if c in fields), None)
            if label_column is None or not ({"date1", "date2"} <= set(fields)
                                            or "pair_id" in fields):
                raise StackError(path, "needs columns date1,date2 (or pair_id) and final_label "
                                       "(or label)")
            labels: dict[str, bool] = {}
            for line, row in enumerate(reader, start=2):
                try:
                    if "pair_id" in fields and row.get("pair_id"):
                        d1, d2 = parse_pair_id(row["pair_id"])
                    else:
                        d1, d2 = parse_yyyymmdd(row["date1"]), parse_yyyymmdd(row["date2"])
                except (ValueError, TypeError):
                    raise StackError(path, f"line {line}: bad dates") from None
                value = (row.get(label_column) or "").strip().lower()
                if value not in _HIGH | _LOW:
                    raise StackError(path, f"line {line}: label {value!r} is not high or low")
                labels[pair_id(d1, d2)] = value in _HIGH
    except OSError as exc:
        raise StackError(path, f"cannot read ({exc.strerror or exc})") from exc
    difference = pair_mismatch(set(labels), set(stack.pair_ids))
    if difference:
        raise StackError(path, f"labels do not match the stack: {difference}")
    return np.array([labels[p] for p in stack.pair_ids], dtype=bool)


def probabilities_from_labels_csv(path: str | Path, stack: Stack) -> np.ndarray:
    """Each pair's ``probability_high`` from a labels CSV, in the stack's order (pairs without
    one get 1: kept at full weight).

    Raises
    ------
    StackError
        When the file is unreadable, lacks the column, holds a bad date or a probability
        outside 0..1 (line named), or its pairs do not match the stack's.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise StackError(path, f"cannot read ({exc.strerror or exc})") from exc
    if not rows or "probability_high" not in rows[0]:
        raise StackError(path, "no probability_high column (classify the stack first)")
    found = {}
    for line, row in enumerate(rows, start=2):
        try:
            pid = row.get("pair_id") or pair_id(parse_yyyymmdd(row["date1"] or ""),
                                                parse_yyyymmdd(row["date2"] or ""))
            value = (row.get("probability_high") or "").strip()
            probability = float(value) if value else 1.0
            if not 0.0 <= probability <= 1.0:  # (also refuses NaN)
                raise ValueError(f"probability_high {value!r} is not within 0..1")
        except (ValueError, KeyError, TypeError) as exc:
            raise StackError(path, f"line {line}: {exc}") from None
        found[pid] = probability
    difference = pair_mismatch(set(found), set(stack.pair_ids))
    if difference:
        raise StackError(path, f"labels do not match the stack: {difference}")
    return np.array([found[p] for p in stack.pair_ids])
