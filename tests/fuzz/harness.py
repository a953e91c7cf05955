"""Seeded mutation testing of the command line: corrupted stacks of every format, each run
through ``info``, ``network`` and ``invert`` in-process, and judged by an oracle.

A case fails on a traceback (an exception the error path does not turn into one line), a hang,
an error that is not exactly one line naming a file, invalid JSON, an implausible number in
the output (baselines, wavelength, velocity beyond the plugin's own limits), an incomplete set
of inversion outputs, or a user file changed or lost.

``python -m sbas_selector.tests.fuzz.harness --cases 1000`` is ``make fuzz``; the unit tier
runs a few hundred cases (``tests/unit/test_fuzz.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

FORMATS = ("hyp3", "mintpy", "licsbas", "geotiff", "real")
REAL_STACK = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real" / \
    "mexico_city_cropA"
#: Seconds one command may take on these small stacks before it counts as a hang.
HANG_S = 30


class Hang(BaseException):
    """Raised by the alarm: a command ran past :data:`HANG_S` (BaseException, so that no
    handler of the plugin mistakes it for an input error)."""


def build_bases(folder: Path) -> dict[str, Path]:
    """One small simulated stack per format, and a copy of the real stack."""
    from sbas_selector.core.simulation import SimulationConfig, simulate, write_simulation

    folder.mkdir(parents=True, exist_ok=True)
    config = SimulationConfig(seed=11, n_dates=8, rows=32, cols=40)
    write_simulation(simulate(config), folder, ("hyp3", "mintpy", "geotiff"))
    write_simulation(simulate(SimulationConfig(**{**config.__dict__, "geographic": True})),
                     folder, ("licsbas",))
    bases = {"hyp3": folder / "hyp3", "mintpy": folder / "mintpy",
             "licsbas": folder / "GEOCml1", "geotiff": folder / "geotiff"}
    if REAL_STACK.is_dir():
        shutil.copytree(REAL_STACK.resolve(), folder / "real")
        for path in [folder / "real", *(folder / "real").rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        bases["real"] = folder / "real"
    return bases


def _snapshot(folder: Path) -> dict[Path, str]:
    return {p: hashlib.sha1(p.read_bytes()).hexdigest() for p in folder.rglob("*")
            if p.is_file()}


def run_cli(argv: list[str]) -> dict:
    """Run the command line in this process: exit status, stdout, stderr (Python's and the C
    libraries', file descriptor 2), and the traceback of an exception that escaped."""
    from sbas_selector.cli import main

    for handler in list(logging.root.handlers):  # basicConfig binds to the current stderr
        logging.root.removeHandler(handler)
    out, err = io.StringIO(), io.StringIO()
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as c_stderr:
        saved = os.dup(2)
        os.dup2(c_stderr.fileno(), 2)
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(HANG_S)
        status, escaped = None, None
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                status = main(argv)
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 2
        except Hang:
            escaped = f"hang: still running after {HANG_S} s"
        except BaseException:
            escaped = traceback.format_exc(limit=-4)
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
            os.dup2(saved, 2)
            os.close(saved)
        c_stderr.seek(0)
        c_text = c_stderr.read().decode("utf-8", errors="replace")
    return {"status": status, "stdout": out.getvalue(), "stderr": c_text + err.getvalue(),
            "escaped": escaped}


def _alarm(signum, frame):
    raise Hang


def check(command: str, outcome: dict, case_dir: Path, out_dir: Path,
          base_pairs: list[str] = (), mutations: list[str] = ()) -> list[str]:
    """What is wrong with one command's outcome (empty when nothing). ``base_pairs``: the
    pair ids of the uncorrupted stack, each of which ``info`` must list, or account for in a
    skipped entry, unless a mutation named one of its files."""
    from sbas_selector.core import strict_json
    from sbas_selector.core.plausible import (
        BPERP_LIMIT_M,
        VELOCITY_LIMIT_MM_YR,
        WAVELENGTH_RANGE_M,
    )

    if outcome["escaped"]:
        return [f"{command}: {outcome['escaped'].strip()}"]
    status, stderr = outcome["status"], outcome["stderr"].strip()
    if status == 2:
        lines = stderr.splitlines()
        if len(lines) != 1 or not lines[0].startswith("sbas-selector: error:"):
            return [f"{command}: error is not one line: {stderr[:400]!r}"]
        if str(case_dir) not in lines[0]:
            return [f"{command}: error names no file: {lines[0][:300]!r}"]
        return []
    if status != 0:
        return [f"{command}: exit status {status}: {stderr[:300]!r}"]
    problems = []
    if command in ("info", "network"):
        try:
            report = strict_json.loads(outcome["stdout"])
        except ValueError as exc:
            return [f"{command}: not strict JSON ({exc})"]
        if command == "info":
            low, high = WAVELENGTH_RANGE_M
            if not low <= report["wavelength_m"] <= high:
                problems.append(f"info: wavelength {report['wavelength_m']}")
            values = np.array([np.nan if b is None else b for b in report["date_bperp_m"]]
                              + [np.nan if p["bperp_m"] is None else p["bperp_m"]
                                 for p in report["pairs"]], dtype=float)
            limit = BPERP_LIMIT_M * max(report["n_pairs"], 1)
            if not (np.isfinite(values).all() and (np.abs(values) <= limit).all()):
                problems.append(f"info: implausible baselines {values.tolist()[:12]}")
            listed = {p["pair_id"] for p in report["pairs"]}
            vanished = [pid for pid in base_pairs if pid not in listed
                        and not _accounted(pid, report["skipped"], mutations)]
            if vanished:
                problems.append(f"info: pairs vanished without a skipped entry: {vanished[:3]}")
    if command == "invert":
        from osgeo import gdal

        from sbas_selector.core.inversion.run import OUTPUT_NAMES

        expected = [f"{name}.tif" for name in OUTPUT_NAMES] + ["velocity.qml",
                                                                "inversion.json"]
        missing = [name for name in expected if not (out_dir / name).is_file()]
        leftovers = [p.name for p in out_dir.iterdir() if p.name.startswith(".")]
        if missing or leftovers:
            return [f"invert: incomplete set (missing {missing}, leftovers {leftovers})"]
        try:
            strict_json.loads((out_dir / "inversion.json").read_text())
        except ValueError as exc:
            problems.append(f"invert: inversion.json is not strict JSON ({exc})")
        velocity = gdal.Open(str(out_dir / "velocity.tif")).ReadAsArray()
        finite = velocity[np.isfinite(velocity)]
        if finite.size and np.abs(finite).max() > VELOCITY_LIMIT_MM_YR:
            problems.append(f"invert: velocity up to {np.abs(finite).max():g} mm/yr, exit 0")
    return problems


def _accounted(pair_id: str, skipped: list[str], mutations: list[str]) -> bool:
    """Whether a pair missing from ``info`` is explained: a skipped entry names its dates,
    or a mutation damaged one of its files; a renamed file of it must be skipped under its
    new name."""
    days = pair_id.split("_")
    skipped_text = " ".join(skipped)
    if all(day in skipped_text for day in days):
        return True
    for mutation in mutations:
        if not all(day in mutation for day in days):
            continue
        renamed = re.search(r"renamed .* to (['\"])(.*)\1$", mutation)
        if renamed is None or renamed.group(2).strip() in skipped_text:
            return True
    return False


def check_files(before: dict[Path, str], case_dir: Path, sidecar: Path | None) -> list[str]:
    """Every file that was there is still there, unchanged; a labels file that was set aside
    is kept, byte for byte; temporary files of killed writes may go; ``sidecar``, the labels
    file of a stack whose labels were opened, is valid."""
    from sbas_selector.core import strict_json
    from sbas_selector.core.labels import SIDECAR_NAME, labels_from_json

    after = _snapshot(case_dir)
    kept_hashes = set(after.values())
    problems = []
    for path, digest in before.items():
        if after.get(path) == digest:
            continue
        if path.name.endswith(".tmp") and SIDECAR_NAME in path.name:
            continue  # a stale temporary file, removed as it should be
        if path.name.endswith(SIDECAR_NAME) and digest in kept_hashes:
            continue  # set aside under another name, byte for byte
        if path.name.endswith(SIDECAR_NAME) and path.exists():
            try:  # a valid labels file rewritten with the same labels is fine
                labels_from_json(before_bytes := path.read_bytes())
                strict_json.loads(before_bytes)
                continue
            except ValueError:
                pass
        problems.append(f"user file changed or lost: {path.relative_to(case_dir)}")
    if sidecar is not None:
        try:
            labels_from_json(sidecar.read_bytes())
        except (OSError, ValueError) as exc:
            problems.append(f"labels file left invalid: {sidecar.name} ({exc})")
        stale = list(sidecar.parent.glob(f".{sidecar.name}.999999.*.tmp"))
        if stale:
            problems.append(f"temporary file of a killed write left: {stale[0].name}")
    return problems


def run_case(bases: dict[str, Path], work: Path, seed: int, case: int) -> dict:
    """Corrupt a copy of one base stack and run the commands on it."""
    from sbas_selector.tests.fuzz.mutations import mutate

    rng = np.random.default_rng([seed, case])
    fmt = list(bases)[case % len(bases)]
    base_pairs = _pair_ids(bases[fmt])
    case_dir = work / f"case{case:05d}"
    stack_dir = case_dir / "stack"
    shutil.copytree(bases[fmt], stack_dir)
    mutations = mutate(rng, stack_dir, fmt, int(rng.integers(1, 4)))
    before = _snapshot(case_dir)
    out_dir = case_dir / "out"
    problems: list[str] = []
    statuses = []
    started = time.monotonic()
    for command, argv in (("info", ["info", "--json", str(stack_dir)]),
                          ("network", ["network", "--json", str(stack_dir)]
                           + ([] if case % 4 == 0 else ["--no-closure"])),
                          ("invert", ["invert", str(stack_dir), "--out", str(out_dir),
                                      "--memory-gb", "0.05"])):
        outcome = run_cli(argv)
        statuses.append(outcome["status"])
        problems += check(command, outcome, case_dir, out_dir, base_pairs, mutations)
        if outcome["status"] != 0 and command == "info":
            break  # the stack does not open: the other commands would say the same
    before = {p: d for p, d in before.items() if out_dir not in p.parents}
    sidecar = None
    if statuses[1:2] == [0]:  # network opened the stack's labels
        from sbas_selector.core.formats import open_stack
        from sbas_selector.core.labels import sidecar_path

        sidecar = sidecar_path(open_stack(stack_dir).path)
    problems += check_files(before, case_dir, sidecar)
    shutil.rmtree(case_dir, ignore_errors=True)
    return {"case": case, "format": fmt, "mutations": mutations, "statuses": statuses,
            "problems": problems, "seconds": round(time.monotonic() - started, 3)}


_PAIR_IDS: dict[Path, list[str]] = {}


def _pair_ids(folder: Path) -> list[str]:
    """The pair ids of an uncorrupted base stack (opened once per process)."""
    if folder not in _PAIR_IDS:
        from sbas_selector.core.formats import open_stack

        _PAIR_IDS[folder] = open_stack(folder).pair_ids
    return _PAIR_IDS[folder]


_BASES: dict[str, Path] = {}
_WORK: Path | None = None


def _init(bases: dict[str, Path], work: Path) -> None:
    global _BASES, _WORK
    _BASES, _WORK = bases, work


def _run(args: tuple[int, int]) -> dict:
    try:
        return run_case(_BASES, _WORK, *args)  # type: ignore[arg-type]
    except Exception:  # the harness itself: reported as a failure, never hidden
        return {"case": args[1], "format": "?", "mutations": [], "statuses": [],
                "problems": [f"harness: {traceback.format_exc(limit=-3)}"], "seconds": 0.0}


def run_many(cases: int, seed: int, workers: int = 2, work: Path | None = None) -> list[dict]:
    """Run ``cases`` corrupted stacks in ``workers`` processes (one thread each)."""
    import multiprocessing

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("SBAS_SOLVE_WORKERS", "1")
    owned = work is None
    work = Path(tempfile.mkdtemp(prefix="sbas-fuzz-")) if work is None else work
    try:
        bases = build_bases(work / "bases")
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers, initializer=_init, initargs=(bases, work)) as pool:
            return list(pool.imap_unordered(_run, [(seed, c) for c in range(cases)]))
    finally:
        if owned:
            shutil.rmtree(work, ignore_errors=True)


def summarise(results: list[dict]) -> dict:
    """Counts per format and outcome, and the failed cases."""
    failed = [r for r in results if r["problems"]]
    by_format: dict[str, dict[str, int]] = {}
    for r in results:
        entry = by_format.setdefault(r["format"], {"cases": 0, "opened": 0, "inverted": 0,
                                                   "one_line_error": 0, "failed": 0})
        entry["cases"] += 1
        entry["opened"] += r["statuses"][:1] == [0]
        entry["inverted"] += len(r["statuses"]) == 3 and r["statuses"][2] == 0
        entry["one_line_error"] += 2 in r["statuses"]
        entry["failed"] += bool(r["problems"])
    kinds: dict[str, int] = {}
    for r in failed:
        for problem in r["problems"]:
            head = ":".join(problem.split(":")[:2])[:60]
            key = re.sub(r"[-+.\de]{3,}", "N", head)
            kinds[key] = kinds.get(key, 0) + 1
    return {"cases": len(results), "failed": len(failed), "by_format": by_format,
            "mutations": sum(len(r["mutations"]) for r in results),
            "slowest_case_s": max((r["seconds"] for r in results), default=0.0),
            "problem_kinds": kinds, "failures": failed[:50]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write the summary as JSON here")
    args = parser.parse_args()
    started = time.monotonic()
    results = run_many(args.cases, args.seed, args.workers)
    summary = summarise(results)
    summary["seed"] = args.seed
    summary["wall_s"] = round(time.monotonic() - started, 1)
    text = json.dumps(summary, indent=1, default=str)
    if args.out:
        args.out.write_text(text)
    print(json.dumps({k: v for k, v in summary.items() if k != "failures"}, indent=1))
    for failure in summary["failures"][:20]:
        print(f"case {failure['case']} ({failure['format']}): {failure['mutations']}")
        for problem in failure["problems"]:
            print(f"   {problem[:600]}")
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
