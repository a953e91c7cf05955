"""Pair lists for other tools: CSV, MintPy and LiCSBAS, written atomically."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

from .dates import format_yyyymmdd
from .errors import StackError
from .labels import Label, LabelsStore
from .stack import Stack

FORMATS = ("csv", "mintpy", "licsbas")
CSV_COLUMNS = ("date1", "date2", "pair_id", "days", "bperp_m", "probability_high",
               "predicted", "override", "label", "source", "evidence")


def _write_atomic(path: Path, text: str) -> Path:
    if path.is_dir():
        raise StackError(path, "is a folder; give the name of the file to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def labels_csv_text(stack: Stack, store: LabelsStore) -> str:
    """One row per pair: dates, baselines, probability, predicted, override, final, source,
    and what the network said of the pair (``evidence``, in words)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for pair in stack.pairs:
        entry = store.labels[pair.pair_id]
        writer.writerow([
            format_yyyymmdd(pair.date1), format_yyyymmdd(pair.date2), pair.pair_id, pair.days,
            f"{pair.bperp_m:.3f}",
            "" if entry.probability_high is None else f"{entry.probability_high:.4f}",
            entry.predicted or "", entry.override or "", entry.final.value, entry.source.value,
            entry.evidence or "",
        ])
    return buffer.getvalue()


def export_pairs(stack: Stack, store: LabelsStore, fmt: str, out: str | Path) -> list[Path]:
    """Write the selection in one of :data:`FORMATS`.

    - ``csv``: ``out`` with :data:`CSV_COLUMNS`.
    - ``mintpy``: ``out`` lists the dropped pairs, one ``YYYYMMDD_YYYYMMDD`` per line;
      ``<stem>_keep.txt`` the kept ones (for ``mintpy.network.referenceFile``) and
      ``<stem>_template.cfg`` the line ``mintpy.network.excludeDate12 = ...``.
    - ``licsbas``: ``out`` lists the dropped pairs, one ``YYYYMMDD_YYYYMMDD`` per line, for
      LiCSBAS's ``--rm_ifg_list``.

    Returns
    -------
    list of pathlib.Path
        Files written.
    """
    out = Path(out)
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    if fmt == "csv":
        return [_write_atomic(out, labels_csv_text(stack, store))]
    dropped = [p for p in stack.pair_ids if store.final(p) is Label.LOW]
    kept = [p for p in stack.pair_ids if store.final(p) is Label.HIGH]
    written = [_write_atomic(out, "".join(f"{p}\n" for p in dropped))]
    if fmt == "mintpy":
        written.append(_write_atomic(out.with_name(f"{out.stem}_keep.txt"),
                                     "".join(f"{p}\n" for p in kept)))
        value = ",".join(dropped) if dropped else "no"
        written.append(_write_atomic(
            out.with_name(f"{out.stem}_template.cfg"),
            "## pairs dropped by sbas_selector; add to smallbaselineApp.cfg\n"
            f"mintpy.network.excludeDate12 = {value}\n"))
    return written
