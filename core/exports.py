"""Pair lists for other tools: CSV, MintPy and LiCSBAS, written atomically."""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
from pathlib import Path

from .atomic import default_file_mode, write_text_atomic
from .dates import format_yyyymmdd
from .errors import StackError
from .labels import Label, LabelsStore
from .stack import Stack

FORMATS = ("csv", "mintpy", "licsbas", "corrected")
CSV_COLUMNS = ("date1", "date2", "pair_id", "days", "bperp_m", "probability_high",
               "predicted", "override", "label", "source", "closure", "repairs", "evidence")


def _write_atomic(path: Path, text: str) -> Path:
    if path.is_dir():
        raise StackError(path, "is a folder; give the name of the file to write")
    return write_text_atomic(path, text)


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
            entry.closure or "", entry.repair_text, entry.evidence or "",
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
    - ``corrected``: ``out`` is a new folder of GeoTIFFs (the kept pairs with their repairs
      applied, ``baselines.csv`` and ``repairs.csv``) that this tool, MintPy's and LiCSBAS's
      GeoTIFF loaders read; see :func:`export_corrected_stack`.

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
    if fmt == "corrected":
        return [export_corrected_stack(stack, store, out)]
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


def export_corrected_stack(stack: Stack, store: LabelsStore, out_dir: str | Path) -> Path:
    """Write the kept pairs, with their stored repairs applied (corrected patches shifted by
    whole cycles, masked ones NaN), as a GeoTIFF folder (``unw/``, ``cc/``,
    ``baselines.csv``) plus ``repairs.csv`` (one row per patch applied). The user's files are
    not touched; the folder appears complete or not at all (written beside it, then renamed).

    Raises
    ------
    FileExistsError
        When ``out_dir`` exists and is not empty.
    """
    from .formats.geotiff import write_geotiff_folder
    from .repairs import repaired_stack

    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} exists and is not empty: choose a new folder")
    keep = store.keep_mask()
    indices = [i for i, kept in enumerate(keep) if kept]
    if not indices:
        raise ValueError("no pair is kept: nothing to export")
    repaired = repaired_stack(stack, store.active_repairs())
    kept = Stack(path=stack.path, format_name=stack.format_name,
                  pairs=[stack.pairs[i] for i in indices],
                  phase_sources=[repaired.source(i) for i in indices],
                  coherence_sources=None if not stack.has_coherence
                  else [stack.source(i, "coherence") for i in indices],
                  grid=stack.grid, wavelength_m=stack.wavelength_m)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    staging.chmod(default_file_mode(folder=True))  # an ordinary folder, not mkdtemp's 0700
    try:
        write_geotiff_folder(kept, staging)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["pair_id", "patch_id", "row0", "row1", "col0", "col1", "n_pixels",
                         "cycles", "action", "source", "confidence"])
        for i in indices:
            pair_id = stack.pair_ids[i]
            for patch in store.labels[pair_id].active_repairs:
                writer.writerow([pair_id, patch.patch_id, *patch.rows, *patch.cols,
                                 patch.n_pixels, patch.cycles, patch.action, patch.source,
                                 f"{patch.confidence:.3f}"])
        (staging / "repairs.csv").write_text(buffer.getvalue(), encoding="utf-8")
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir
