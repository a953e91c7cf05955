"""The inversion's outputs are committed as a set: never a mix of two runs, never half a set.

A run writes every output into its own hidden staging folder inside the output folder
(``.sbas-inversion.<pid>.<random>.staging``), then a manifest naming them, then renames the
folder to ``.sbas-inversion.ready`` in one step: from that instant the new set is complete, and
moving its files into place (replacing the old set's, removing files of the old set the new
one lacks) is a roll-forward that :func:`recover` finishes if the run is killed half-way. A run
killed before that instant leaves only its staging folder, which the next run removes (the old
set stays as it was). Every run, and every reader of the outputs, calls :func:`recover` first.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from .. import strict_json
from ..paths import process_running

PREFIX = ".sbas-inversion."
READY = f"{PREFIX}ready"
MANIFEST = "manifest.json"
#: Every file name an inversion may write; those absent from a new set are removed with the
#: old set (a bridge_shift.tif from an earlier run must not look like part of this one).
SET_NAMES = ("velocity.tif", "velocity_std.tif", "timeseries.tif", "temporal_coherence.tif",
             "residual_rms.tif", "n_pairs.tif", "bridge_shift.tif", "velocity.qml",
             "inversion.json", "insar_explorer.gpkg")


def staging_folder(out_dir: Path) -> Path:
    """A new, empty staging folder of this process inside ``out_dir``."""
    folder = out_dir / f"{PREFIX}{os.getpid()}.{secrets.token_hex(4)}.staging"
    folder.mkdir()
    return folder


def discard(staging: Path) -> None:
    """Remove a staging folder (a failed or cancelled run); the old set is untouched."""
    shutil.rmtree(staging, ignore_errors=True)


def commit(staging: Path, out_dir: Path) -> list[Path]:
    """Make the staging folder's files the output set of ``out_dir``.

    Returns
    -------
    list of pathlib.Path
        The committed files, in ``out_dir``.
    """
    names = sorted(p.name for p in staging.iterdir() if p.is_file())
    for name in names:
        _fsync(staging / name)
    manifest = staging / MANIFEST
    manifest.write_text(strict_json.dumps({"files": names}), encoding="utf-8")
    _fsync(manifest)
    _fsync(staging)
    ready = out_dir / READY
    if ready.exists():  # a killed run's complete set: finish it first, then replace it
        recover(out_dir)
    os.rename(staging, ready)  # the instant the new set becomes the set
    _fsync(out_dir)
    _roll_forward(out_dir)
    return [out_dir / name for name in names]


def recover(out_dir: Path) -> list[str]:
    """Finish or undo what a killed run left in ``out_dir``: a complete set waiting in
    ``.sbas-inversion.ready`` is moved into place; staging folders of processes no longer
    running, and temporary files of earlier versions (``.<name>.part``), are removed.

    Returns
    -------
    list of str
        What was done, in words (empty when there was nothing to do).
    """
    done: list[str] = []
    if not out_dir.is_dir():
        return done
    if (out_dir / READY).is_dir():
        _roll_forward(out_dir)
        done.append(f"completed the outputs of an interrupted run in {out_dir}")
    for leftover in out_dir.glob(f"{PREFIX}*.staging"):
        parts = leftover.name[len(PREFIX):].split(".")
        if parts[0].isdigit() and process_running(int(parts[0])):
            continue
        discard(leftover)
        done.append(f"removed {leftover.name}, left by an interrupted run")
    for name in SET_NAMES:
        part = out_dir / f".{name}.part"
        if part.exists():
            part.unlink(missing_ok=True)
            done.append(f"removed {part.name}, left by an interrupted run")
    return done


def _roll_forward(out_dir: Path) -> None:
    """Move the ready set into place; idempotent, so a second call after a kill finishes."""
    ready = out_dir / READY
    manifest = ready / MANIFEST
    if manifest.is_file():
        names = strict_json.loads(manifest.read_text(encoding="utf-8"))["files"]
        for name in names:
            if (ready / name).exists():
                os.replace(ready / name, out_dir / name)
        for name in SET_NAMES:
            if name not in names:
                (out_dir / name).unlink(missing_ok=True)
        _fsync(out_dir)
        manifest.unlink()
    shutil.rmtree(ready, ignore_errors=True)


def _fsync(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
