"""Killed at any system call, a write loses nothing: the labels file stays valid (old or new
decisions) and the inversion's outputs are, once the next run or read has recovered them,
exactly the old set or exactly the new one.

A child process does the write; strace's fault injection kills it (SIGKILL) at the k-th call
of one system call, for every call the write makes (found by a first, traced run).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

STRACE = shutil.which("strace")
SYSCALLS = ("write", "pwrite64", "writev", "fsync", "fdatasync", "rename", "renameat",
            "renameat2", "unlink", "unlinkat", "rmdir", "mkdir", "mkdirat", "link", "linkat",
            "openat", "close", "ftruncate")
BEGIN, END = b"--begin-critical--", b"--end-critical--"


def _strace_works() -> bool:
    if STRACE is None:
        return False
    result = subprocess.run([STRACE, "-o", os.devnull, "true"], capture_output=True)
    return result.returncode == 0


pytestmark = pytest.mark.skipif(not _strace_works(),
                                reason="strace (with ptrace permitted) is not available")

_ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}


def _critical_calls(script: str, args: list[str]) -> list[tuple[str, int]]:
    """(system call, its ordinal since the process started) of every traced call the script
    makes between its two markers."""
    trace = Path(args[0]) / "trace.txt"
    subprocess.run([STRACE, "-f", "-qq", "-o", str(trace), "-e", "trace=" + ",".join(SYSCALLS),
                    sys.executable, "-c", script, *args], env=_ENV, check=True,
                   capture_output=True)
    counts: dict[str, int] = {}
    calls: list[tuple[str, int]] = []
    inside = False
    for line in trace.read_text().splitlines():
        match = re.match(r"^\d+\s+(\w+)\(", line)
        if not match or "resumed>" in line:
            continue
        name = match.group(1)
        counts[name] = counts.get(name, 0) + 1
        if BEGIN.decode() in line:
            inside = True
            continue
        if END.decode() in line:
            break
        if inside:
            calls.append((name, counts[name]))
    trace.unlink()
    assert calls, "the traced run made no call between its markers"
    return calls


def _kill_at(script: str, args: list[str], call: tuple[str, int]) -> bool:
    """Run the script, killed at the given call; whether it was killed inside its critical
    part (it wrote the first marker and not the second)."""
    name, ordinal = call
    result = subprocess.run([STRACE, "-f", "-qq", "-o", os.devnull, "-e", f"trace={name}",
                             "-e", f"inject={name}:signal=SIGKILL:when={ordinal}",
                             sys.executable, "-c", script, *args], env=_ENV,
                            capture_output=True)
    return BEGIN in result.stderr and END not in result.stderr


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in folder.iterdir()
            if p.is_file()} | {p.name + "/": "dir" for p in folder.iterdir() if p.is_dir()}


# ---- labels ------------------------------------------------------------------------------
_LABELS_CHILD = f"""
import os, sys
from pathlib import Path
from sbas_selector.core.labels import LabelsStore, labels_from_json
path = Path(sys.argv[2])
labels, model = labels_from_json(path.read_bytes())
store = LabelsStore(path, list(labels), labels, model)
os.write(2, {BEGIN!r})
store.set_override(sys.argv[3], "low")
os.write(2, {END!r})
"""


def test_labels_write_killed_at_every_call(tmp_path):
    from sbas_selector.core.labels import (
        Label,
        LabelsStore,
        PairLabel,
        labels_from_json,
        remove_stale_temporaries,
    )

    ids = [f"201801{d:02d}_201802{d:02d}" for d in range(1, 21)]
    template = tmp_path / "template.json"
    LabelsStore(template, ids, {p: PairLabel(p, probability_high=0.5) for p in ids}).save()
    target = ids[7]
    work = tmp_path / "trace"
    work.mkdir()
    path = work / "labels.json"
    shutil.copy(template, path)
    calls = _critical_calls(_LABELS_CHILD, [str(work), str(path), target])
    assert labels_from_json(path.read_bytes())[0][target].override is Label.LOW

    def one(n: int) -> tuple[bool, str | None, list[str]]:
        case = tmp_path / f"case{n}"
        case.mkdir()
        labels = case / "labels.json"
        shutil.copy(template, labels)
        killed = _kill_at(_LABELS_CHILD, [str(case), str(labels), target], calls[n])
        stored = labels_from_json(labels.read_bytes())[0]  # raises if the file is broken
        remove_stale_temporaries(labels)  # what the next open does
        left = sorted(p.name for p in case.iterdir() if p.name != "labels.json")
        return killed, stored[target].override, left

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(one, range(len(calls))))
    assert all(killed for killed, _, _ in outcomes), "some runs were not killed inside"
    assert {override for _, override, _ in outcomes} <= {None, Label.LOW}
    assert [left for _, _, left in outcomes] == [[]] * len(calls)  # no temporary file stays
    assert {name for name, _ in calls} >= {"write", "fsync", "rename"}


# ---- inversion outputs -------------------------------------------------------------------
_COMMIT_CHILD = f"""
import os, shutil, sys
from pathlib import Path
from sbas_selector.core.inversion.commit import commit, staging_folder
out, new = Path(sys.argv[2]), Path(sys.argv[3])
staging = staging_folder(out)
for source in sorted(new.iterdir()):
    shutil.copyfile(source, staging / source.name)
os.write(2, {BEGIN!r})
commit(staging, out)
os.write(2, {END!r})
"""


@pytest.fixture(scope="module")
def two_sets(tmp_path_factory):
    """An old complete output set (bridged: with bridge_shift.tif) and a new one (fewer
    pairs, no bridge) of the same small stack."""
    import numpy as np

    from sbas_selector.core.inversion import InversionOptions, run_inversion
    from sbas_selector.core.simulation import SimulationConfig, simulate

    stack = simulate(SimulationConfig(seed=5, n_dates=6, rows=16, cols=24)).to_stack()
    root = tmp_path_factory.mktemp("sets")
    run_inversion(stack, root / "old", options=InversionOptions(bridge_gaps=True))
    keep = np.ones(stack.n_pairs, dtype=bool)
    keep[1] = False
    run_inversion(stack, root / "new", keep=keep)
    return stack, root / "old", root / "new"


def test_output_commit_killed_at_every_call(tmp_path, two_sets):
    from sbas_selector.core.inversion.commit import recover

    _, old, new = two_sets
    old_files, new_files = _files(old), _files(new)
    assert "bridge_shift.tif" in old_files and "bridge_shift.tif" not in new_files
    work = tmp_path / "trace"
    shutil.copytree(old, work)
    calls = _critical_calls(_COMMIT_CHILD, [str(work), str(work), str(new)])
    assert _files(work) == new_files  # the traced run committed the new set

    def one(n: int) -> tuple[bool, str]:
        case = tmp_path / f"case{n}"
        out = case / "out"
        shutil.copytree(old, out)
        killed = _kill_at(_COMMIT_CHILD, [str(case), str(out), str(new)], calls[n])
        recover(out)  # what the next run, or reading the outputs, does first
        found = _files(out)
        return killed, "old" if found == old_files else "new" if found == new_files else \
            f"mixed: {sorted(found)}"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(one, range(len(calls))))
    assert all(killed for killed, _ in outcomes), "some runs were not killed inside"
    states = [state for _, state in outcomes]
    assert set(states) <= {"old", "new"}, [s for s in states if s not in ("old", "new")]
    assert "old" in states and "new" in states  # both sides of the commit's instant were hit
    assert {name for name, _ in calls} >= {"fsync", "rename", "write"}


def test_inversion_killed_while_writing_keeps_the_old_set(tmp_path, two_sets):
    """The whole command killed at a few of its raster writes: the old set survives, the
    staging folder is removed by the next run."""
    from sbas_selector.core.formats.geotiff import write_geotiff_folder
    from sbas_selector.core.inversion.commit import recover

    stack, old, _ = two_sets
    folder = write_geotiff_folder(stack, tmp_path / "stack")
    out = tmp_path / "out"
    shutil.copytree(old, out)
    old_files = _files(out)
    script = ("import sys; from sbas_selector.cli import main; "
              f"sys.stderr.buffer.write({BEGIN!r}); sys.stderr.flush(); "
              "main(['invert', sys.argv[1], '--out', sys.argv[2]])")
    trace = tmp_path / "trace.txt"
    subprocess.run([STRACE, "-f", "-qq", "-y", "-o", str(trace), "-e", "trace=write,pwrite64",
                    sys.executable, "-c", script, str(folder), str(tmp_path / "traced")],
                   env=_ENV, check=True, capture_output=True)
    # strace counts a call's invocations per thread (the outputs are written by a thread of
    # their own): a kill point is the n-th call in one thread, with n beyond what any other
    # thread makes of that call, so that only a write into the staging folder reaches it.
    counts: dict[tuple[str, str], int] = {}
    staging_writes = []  # (call, thread, ordinal in that thread)
    for line in trace.read_text().splitlines():
        match = re.match(r"^(\d+)\s+(write|pwrite64)\(\d+<([^>]*)>", line)
        if match:
            key = (match[2], match[1])
            counts[key] = counts.get(key, 0) + 1
            if ".staging/" in match[3]:
                staging_writes.append((match[2], match[1], counts[key]))

    def others(call: str, thread: str) -> int:
        return max([n for (c, t), n in counts.items() if c == call and t != thread],
                   default=0)

    into_staging = [(call, ordinal) for call, thread, ordinal in staging_writes
                    if ordinal > others(call, thread)]
    assert len(into_staging) >= 3
    for name, ordinal in (into_staging[0], into_staging[len(into_staging) // 2],
                          into_staging[-1]):
        result = subprocess.run(
            [STRACE, "-f", "-qq", "-o", os.devnull, "-e", f"trace={name}",
             "-e", f"inject={name}:signal=SIGKILL:when={ordinal}",
             sys.executable, "-c", script, str(folder), str(out)],
            env=_ENV, capture_output=True)
        assert result.returncode != 0 and b"inverted" not in result.stdout
        assert any(p.name.endswith(".staging") for p in out.iterdir())
        recover(out)
        assert _files(out) == old_files
