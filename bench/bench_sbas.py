"""Benchmark of the SBAS inversion (``make bench-sbas``): ours against the floor and its peers.

Each stack (simulated once into ``bench_data/``, HyP3 format) is inverted on the same kept pairs
(all, or those whose truth label is high: a selection) and referenced to the same pixel (valid
in every kept pair, highest mean coherence), each tool as its own whole process (open, read,
solve, write), timed by ``wait4`` (wall time and peak resident memory):

- ours: ``sbas-selector invert HYP3 [--labels truth/labels.csv] --ref R,C``;
- the floor (``floor.py``): read every kept phase raster with GDAL and one product of the
  design's pseudo-inverse (n_dates - 1 x n_pairs) with the phase stack;
- insar-rs (``peer_insar_rs.py``) and dolphin (``peer_dolphin.py``), each in its own venv;
- MintPy (``prep_hyp3`` + ``load_data`` + ``reference_point`` + ``ifgram_inversion -w no`` +
  ``timeseries2velocity``, on a folder of links to the kept products), once per stack.

Ours, the floor, insar-rs and dolphin alternate for ``--repeat`` rounds (medians reported). A
peer predicted (from its time and peak on the smaller stacks, scaled by kept pairs x pixels) to
take longer than ``--peer-limit-s`` or more memory than ``--peer-memory-gb`` is skipped, and
one that runs past twice the limit is stopped; the row says so. Every tool's velocity
(mm/yr, LOS, positive toward the satellite) is compared with ours on the pixels both solve.
Not a test: the machine is shared, so compare ratios taken in one run. ``--cores N`` runs every
tool on N of the CPUs only (``BENCH_CPUS``, read by ``measure.py``; OpenMP told as much): how
the tools compare where only N cores are free (a busy machine, a job of a batch cluster).
"""

from __future__ import annotations

import argparse
import compileall
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
OURS = ROOT / ".venv/bin/sbas-selector"
PEERS = ("insar-rs", "dolphin")
WITHIN_MM_YR = 0.05


@dataclass(frozen=True)
class StackSpec:
    """One bench stack: the simulation (dates, size, water, coherence) and which pairs to keep.

    Parameters
    ----------
    n_dates, size
        Acquisitions; the grid is size x size pixels.
    water_fraction, coherence_scale
        The simulator's knobs (``sbas-selector simulate --water-fraction --coherence-scale``).
    selection
        Keep only the pairs whose truth label is high (else every pair).
    """

    n_dates: int
    size: int
    water_fraction: float = 0.05
    coherence_scale: float = 1.0
    selection: bool = False

    @property
    def simulation(self) -> str:
        realistic = self.water_fraction != 0.05 or self.coherence_scale != 1.0
        return f"sim_{self.n_dates}x{self.size}" + ("_sea" if realistic else "")

    def describe(self, n_kept: int, n_pairs: int) -> str:
        text = f"{self.n_dates} dates, {self.size}², "
        if self.water_fraction != 0.05 or self.coherence_scale != 1.0:
            text += (f"sea {self.water_fraction:g}, coherence x{self.coherence_scale:g}, ")
        if self.selection:
            return text + f"selection: {n_kept} of {n_pairs} pairs"
        return text + f"{n_pairs} pairs"


STACKS = {
    "40x256": StackSpec(40, 256),
    "40x256-sel": StackSpec(40, 256, selection=True),
    "80x512": StackSpec(80, 512),
    "80x512-sel": StackSpec(80, 512, selection=True),
    "40x256-sea-sel": StackSpec(40, 256, water_fraction=0.3, coherence_scale=0.65,
                                selection=True),
}


# ---- running and timing --------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """One process's wall time (s) and peak resident memory (MiB); ``stopped`` past its limit;
    ``steal_s``: CPU time the hypervisor took from this machine meanwhile (:func:`host_steal_s`)."""

    seconds: float
    peak_mib: float
    stopped: bool = False
    steal_s: float = float("nan")


def omp_threads() -> str:
    """OpenMP threads for every tool: the CPUs they are pinned to (``--cores``), else 2."""
    cpus = os.environ.get("BENCH_CPUS")
    return str(len(cpus.split(","))) if cpus else "2"


def host_steal_s() -> float:
    """CPU seconds the hypervisor has taken from this virtual machine since it booted
    (``steal`` of /proc/stat, every CPU summed), NaN where not known. Its rise during a run
    tells an hour when the host ran other guests on our cores."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def timed(command: list[str], log: Path, cwd: Path | None = None, env: dict | None = None,
          limit_s: float | None = None) -> Run:
    """Run a command to its end (or stop it after ``limit_s``); its wall time and peak resident
    memory are measured by ``measure.py`` (``wait4`` in a small parent: see there why).

    Raises
    ------
    RuntimeError
        When it exits non-zero (the last line of its output is in the message).
    """
    result = log.with_suffix(".run.json")
    result.unlink(missing_ok=True)
    with open(log, "a") as sink:
        sink.write(f"\n$ {' '.join(command)}\n")
        sink.flush()
        steal = host_steal_s()
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-S", str(BENCH / "measure.py"),
                                    str(result), *command], cwd=cwd, env=env, stdout=sink,
                                   stderr=sink, start_new_session=True)
        timer = threading.Timer(limit_s, os.killpg, (process.pid, signal.SIGKILL)) \
            if limit_s else None
        if timer:
            timer.start()
        code = process.wait()
        wall = time.perf_counter() - start
        steal = host_steal_s() - steal
        if timer:
            timer.cancel()
    if code == -signal.SIGKILL and limit_s and wall >= limit_s:
        return Run(wall, float("nan"), stopped=True, steal_s=steal)
    if code != 0:
        lines = [line for line in log.read_text().splitlines() if line.strip()]
        raise RuntimeError(f"exit {code}: {lines[-1] if lines else ''}"[:300])
    measured = json.loads(result.read_text())
    return Run(measured["seconds"], measured["peak_mib"], steal_s=steal)


def fresh(folder: Path) -> Path:
    """An empty folder (its previous outputs removed: dolphin skips work whose outputs exist)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


# ---- the stacks ----------------------------------------------------------------------------
def simulate(data_dir: Path, spec: StackSpec) -> Path:
    """The stack's simulation folder (``hyp3/``, ``truth/``), simulated on first use."""
    target = data_dir / spec.simulation
    if not (target / "hyp3").is_dir():
        subprocess.run([str(OURS), "simulate", "--out", str(target), "--seed", "5",
                        "--dates", str(spec.n_dates), "--size", f"{spec.size}x{spec.size}",
                        "--water-fraction", str(spec.water_fraction),
                        "--coherence-scale", str(spec.coherence_scale), "--format", "hyp3"],
                       check=True)
    return target


def phase_files(hyp3: Path) -> dict[str, Path]:
    """Each pair's phase raster by pair id (``YYYYMMDD_YYYYMMDD``)."""
    files = {}
    for path in sorted(hyp3.glob("*/*_unw_phase.tif")):
        first, second = path.name.split("_")[1:3]
        files[f"{first[:8]}_{second[:8]}"] = path
    return files


def kept_pairs(simulation: Path, spec: StackSpec) -> list[str]:
    """Pair ids kept: all, or those labelled high in ``truth/labels.csv``."""
    with open(simulation / "truth" / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r["pair_id"] for r in rows if not spec.selection or r["label"] == "high"]


def reference_pixel(files: list[Path]) -> tuple[int, int]:
    """(row, col) valid in every kept pair with the highest mean coherence: what ours would
    choose among the kept pairs, given to every tool."""
    from osgeo import gdal

    gdal.UseExceptions()
    valid_count, coherence_sum = None, None
    for path in files:
        dataset = gdal.Open(str(path))  # held: a band outlives no dataset
        band = dataset.GetRasterBand(1)
        valid = band.ReadAsArray() != band.GetNoDataValue()
        coherence = gdal.Open(str(path).replace("_unw_phase.tif", "_corr.tif")).ReadAsArray()
        if valid_count is None:
            valid_count = np.zeros(valid.shape, np.int32)
            coherence_sum = np.zeros(valid.shape)
        valid_count += valid
        coherence_sum += np.where(valid, coherence, 0.0)
    score = np.where(valid_count == len(files), coherence_sum, -1.0)
    if score.max() < 0:
        raise RuntimeError("no pixel is valid in every kept pair")
    row, col = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(row), int(col)


def linked_products(hyp3: Path, files: list[Path], target: Path) -> Path:
    """A HyP3 folder of links to the kept products' files (MintPy loads every file it finds)."""
    fresh(target)
    for phase in files:
        folder = target / phase.parent.name
        folder.mkdir()
        for path in phase.parent.iterdir():
            if path.suffix in (".tif", ".txt"):
                (folder / path.name).symlink_to(path)
    return target


@dataclass(frozen=True)
class Prepared:
    """A stack ready to time: where it is and what every tool gets."""

    key: str
    spec: StackSpec
    simulation: Path
    work: Path
    kept_list: Path
    files: tuple[Path, ...]
    n_pairs: int
    reference: tuple[int, int]
    wavelength_m: float

    @property
    def hyp3(self) -> Path:
        return self.simulation / "hyp3"

    @property
    def labels(self) -> Path | None:
        return self.simulation / "truth" / "labels.csv" if self.spec.selection else None

    @property
    def work_units(self) -> float:
        """Kept pairs x pixels: how peers' times are scaled from one stack to another."""
        return len(self.files) * self.spec.size**2


def prepare(data_dir: Path, key: str) -> Prepared:
    """Simulate (once), choose the kept pairs and the reference pixel, write the kept list."""
    from sbas_selector.core import open_stack

    spec = STACKS[key]
    simulation = simulate(data_dir, spec)
    by_pair = phase_files(simulation / "hyp3")
    files = [by_pair[p] for p in kept_pairs(simulation, spec)]
    work = data_dir / key
    work.mkdir(parents=True, exist_ok=True)
    kept_list = work / "kept.txt"
    kept_list.write_text("".join(f"{f}\n" for f in files))
    cached = work / "reference.json"
    if cached.is_file() and json.loads(cached.read_text())["kept"] == len(files):
        reference = tuple(json.loads(cached.read_text())["pixel"])
    else:
        reference = reference_pixel(files)
        cached.write_text(json.dumps({"kept": len(files), "pixel": list(reference)}))
    return Prepared(key, spec, simulation, work, kept_list, tuple(files), len(by_pair),
                    reference, float(open_stack(simulation / "hyp3").wavelength_m))


class History:
    """What each peer took per work unit (kept pairs x pixels) on the stacks already run: the
    most, seconds and MiB, so that a peer too slow or too large for the next stack is skipped
    (smaller stacks run first)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.mib: dict[str, float] = {}

    def record(self, tool: str, stack: Prepared, run: Run) -> None:
        units = stack.work_units
        self.seconds[tool] = max(self.seconds.get(tool, 0.0), run.seconds / units)
        if np.isfinite(run.peak_mib):
            self.mib[tool] = max(self.mib.get(tool, 0.0), run.peak_mib / units)

    def too_much(self, tool: str, stack: Prepared, args: argparse.Namespace) -> str | None:
        """Why ``tool`` should be skipped on ``stack``, or None."""
        seconds = self.seconds.get(tool, 0.0) * stack.work_units
        gib = self.mib.get(tool, 0.0) * stack.work_units / 1024
        if seconds > args.peer_limit_s:
            return f"skipped: predicted {seconds:.0f} s > {args.peer_limit_s:g} s"
        if gib > args.peer_memory_gb:
            return f"skipped: predicted {gib:.1f} GiB > {args.peer_memory_gb:g} GiB"
        return None


# ---- the tools -----------------------------------------------------------------------------
def ours_command(stack: Prepared, out: Path, memory_gb: float) -> list[str]:
    command = [str(OURS), "invert", str(stack.hyp3), "--out", str(out),
               "--ref", f"{stack.reference[0]},{stack.reference[1]}",
               "--memory-gb", f"{memory_gb:.4f}"]
    return command + (["--labels", str(stack.labels)] if stack.labels else [])


def peer_command(python: Path, peer: str, stack: Prepared, out: Path) -> list[str]:
    script = BENCH / f"peer_{peer.replace('-', '_')}.py"
    return [str(python), str(script), str(stack.kept_list),
            f"{stack.reference[0]},{stack.reference[1]}", repr(stack.wavelength_m), str(out)]


def run_mintpy(mintpy_python: Path, stack: Prepared, work: Path, log: Path,
               limit_s: float | None) -> Run:
    """MintPy's chain on links to the kept products; times and peaks of its steps summed and
    maxed (stopped, with what it had used, once the chain passes ``limit_s``)."""
    hyp3 = linked_products(stack.hyp3, list(stack.files), work / "hyp3") \
        if stack.spec.selection else stack.hyp3
    bin_dir = mintpy_python.parent
    env = {**os.environ, "OMP_NUM_THREADS": omp_threads(),
           "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    (work / "template.txt").write_text(textwrap.dedent(f"""
        mintpy.load.processor = hyp3
        mintpy.load.unwFile = {hyp3}/*/*_unw_phase.tif
        mintpy.load.corFile = {hyp3}/*/*_corr.tif
        mintpy.load.demFile = {hyp3}/*/*_dem.tif
        mintpy.load.incAngleFile = {hyp3}/*/*_lv_theta.tif
        mintpy.load.azAngleFile = {hyp3}/*/*_lv_phi.tif
        mintpy.load.waterMaskFile = {hyp3}/*/*_water_mask.tif
    """))
    py = str(mintpy_python)
    defaults = subprocess.run(
        [py, "-c", "import mintpy, os; print(os.path.join(os.path.dirname(mintpy.__file__), "
                   "'defaults', 'smallbaselineApp.cfg'))"],
        check=True, capture_output=True, text=True).stdout.strip()
    shutil.copy(defaults, work / "smallbaselineApp.cfg")
    row, col = stack.reference
    steps = [
        [py, str(bin_dir / "prep_hyp3.py"), f"{hyp3}/*/*.tif"],
        [py, str(bin_dir / "load_data.py"), "-t", "smallbaselineApp.cfg", "template.txt"],
        [py, str(bin_dir / "reference_point.py"), "inputs/ifgramStack.h5", "-y", str(row),
         "-x", str(col)],
        [py, str(bin_dir / "ifgram_inversion.py"), "inputs/ifgramStack.h5", "-w", "no",
         "--ram", "4"],
        [py, str(bin_dir / "timeseries2velocity.py"), "timeseries.h5", "-o", "velocity.h5"],
    ]
    wall, peak = 0.0, 0.0
    for step in steps:
        left = None if limit_s is None else max(limit_s - wall, 1.0)
        run = timed(step, log, cwd=work, env=env, limit_s=left)
        wall, peak = wall + run.seconds, max(peak, run.peak_mib)
        if run.stopped:
            return Run(wall, peak, stopped=True)
    return Run(wall, peak)


# ---- agreement -----------------------------------------------------------------------------
def read_velocity_mm_yr(tool: str, out: Path) -> np.ndarray:
    """A tool's velocity, mm/yr, NaN where it solved nothing."""
    from osgeo import gdal

    gdal.UseExceptions()
    if tool == "MintPy":
        import h5py

        with h5py.File(out / "velocity.h5", "r") as h5:
            return np.asarray(h5["velocity"][:], dtype=float) * 1000.0  # m/yr -> mm/yr
    dataset = gdal.Open(str(out / "velocity.tif"))  # held: a band outlives no dataset
    band = dataset.GetRasterBand(1)
    values = band.ReadAsArray().astype(float)
    nodata = band.GetNoDataValue()
    if nodata is not None and np.isfinite(nodata):
        values[values == nodata] = np.nan
    return values * (1000.0 if tool == "dolphin" else 1.0)  # dolphin: m/yr


def agreement(ours: np.ndarray, theirs: np.ndarray, every_pair: np.ndarray) -> dict:
    """Compare two velocity maps (mm/yr) on the pixels both solve, and on those of them that
    are valid in every kept pair (``every_pair``: where the tools' handling of missing data
    cannot differ)."""
    found: dict = {"pixels_solved": int(np.isfinite(theirs).sum())}
    both = np.isfinite(ours) & np.isfinite(theirs)
    for name, where in (("", both), ("every_pair_", both & every_pair)):
        difference = np.abs(ours - theirs)[where]
        found[f"{name}pixels_compared"] = int(where.sum())
        found[f"{name}share_within_0_05_mm_yr"] = float(np.mean(difference <= WITHIN_MM_YR)) \
            if where.any() else None
        found[f"{name}max_abs_diff_mm_yr"] = float(difference.max()) if where.any() else None
    return found


def every_kept_pair(ours_dir: Path, n_kept: int) -> np.ndarray:
    """Pixels valid in every kept pair (ours' ``n_pairs.tif``)."""
    from osgeo import gdal

    gdal.UseExceptions()
    return gdal.Open(str(ours_dir / "n_pairs.tif")).ReadAsArray() == n_kept


def dolphin_series_agreement(ours_dir: Path, dolphin_dir: Path) -> dict:
    """dolphin's time series (m, one raster per date after the first) against ours (mm)."""
    from osgeo import gdal

    gdal.UseExceptions()
    ours = gdal.Open(str(ours_dir / "timeseries.tif")).ReadAsArray()[1:].astype(float)
    files = sorted(p for p in dolphin_dir.glob("*.tif")
                   if p.stem[:8].isdigit() and "_" in p.stem and not p.stem.startswith("res"))
    theirs = np.stack([gdal.Open(str(p)).ReadAsArray() for p in files]).astype(float) * 1000.0
    solved = np.isfinite(ours).all(axis=0) & (theirs != 0).any(axis=0)
    difference = np.abs(ours - theirs)[:, solved]
    return {"timeseries_dates_compared": len(files),
            "timeseries_max_abs_diff_mm": float(difference.max()) if solved.any() else None}


# ---- one stack -----------------------------------------------------------------------------
def bench_stack(stack: Prepared, args: argparse.Namespace, history: History) -> dict:
    """Time every tool on one stack and compare their velocities (peers that ``history``
    predicts too slow or too large are skipped)."""
    log = stack.work / "bench.log"
    log.write_text("")
    env = {**os.environ, "OMP_NUM_THREADS": omp_threads()}
    pythons = {"insar-rs": args.insar_rs_python, "dolphin": args.dolphin_python}
    dates = sorted({d for f in stack.files for d in (f.name.split("_")[1][:8],
                                                      f.name.split("_")[2][:8])})
    notes: dict[str, str] = {}
    for peer in PEERS:
        if peer in args.skip:
            notes[peer] = "skipped (--skip)"
        elif history.too_much(peer, stack, args):
            notes[peer] = history.too_much(peer, stack, args)  # type: ignore[assignment]
    runs: dict[str, list[Run]] = {tool: [] for tool in ("ours", "floor", *PEERS)}
    outs = {tool: stack.work / tool for tool in runs}
    for _ in range(args.repeat):  # alternating, on a shared machine: medians
        runs["ours"].append(timed(ours_command(stack, fresh(outs["ours"]), args.memory_gb),
                                  log, env=env))
        runs["floor"].append(timed([sys.executable, str(BENCH / "floor.py"),
                                    str(stack.kept_list)], log, env=env))
        for peer in PEERS:
            if peer in notes:
                continue
            try:
                run = timed(peer_command(pythons[peer], peer, stack, fresh(outs[peer])), log,
                            env=env, limit_s=2 * args.peer_limit_s)
            except RuntimeError as exc:
                notes[peer] = f"failed: {exc}"
                continue
            if run.stopped:
                notes[peer] = f"stopped after {run.seconds:.0f} s"
            runs[peer].append(run)
    ours_s = float(np.median([r.seconds for r in runs["ours"]]))
    floor_s = float(np.median([r.seconds for r in runs["floor"]]))
    row: dict = {"key": stack.key,
                 "stack": stack.spec.describe(len(stack.files), stack.n_pairs),
                 "n_dates": len(dates), "n_pairs": stack.n_pairs,
                 "n_kept": len(stack.files), "reference_pixel": list(stack.reference),
                 "repeats": args.repeat, "cores": args.cores, "ours_s": round(ours_s, 2),
                 "floor_s": round(floor_s, 2), "ours_over_floor": round(ours_s / floor_s, 2),
                 "tools": {}}
    ours_velocity = read_velocity_mm_yr("ours", outs["ours"])
    every_pair = every_kept_pair(outs["ours"], len(stack.files))
    row["ours_pixels_solved"] = int(np.isfinite(ours_velocity).sum())
    row["pixels_valid_in_every_kept_pair"] = int(every_pair.sum())
    for tool in runs:
        entry: dict = {"runs_s": [round(r.seconds, 2) for r in runs[tool]],
                       "steal_s": [round(r.steal_s, 2) if np.isfinite(r.steal_s) else None
                                   for r in runs[tool]],
                       "peak_mib": round(max((r.peak_mib for r in runs[tool]
                                                  if np.isfinite(r.peak_mib)), default=0))}
        if runs[tool] and tool in PEERS and tool not in notes:
            entry["s"] = round(float(np.median(entry["runs_s"])), 2)
            entry["agreement"] = agreement(ours_velocity, read_velocity_mm_yr(tool, outs[tool]),
                                          every_pair)
            history.record(tool, stack, Run(entry["s"], entry["peak_mib"]))
            if tool == "dolphin":
                entry["agreement"].update(dolphin_series_agreement(outs["ours"], outs[tool]))
        if tool in notes:
            entry["note"] = notes[tool]
        row["tools"][tool] = entry
    row["tools"]["MintPy"] = mintpy_entry(stack, args, history, ours_velocity, every_pair,
                                          log)
    row.update(memory_entry(stack, args, env, log))
    return row


def mintpy_entry(stack: Prepared, args: argparse.Namespace, history: History,
                 ours_velocity: np.ndarray, every_pair: np.ndarray, log: Path) -> dict:
    """MintPy once: its time, peak and agreement, or why it did not run."""
    if args.skip_mintpy or "mintpy" in args.skip:
        return {"note": "skipped (--skip-mintpy)"}
    if history.too_much("MintPy", stack, args):
        return {"note": history.too_much("MintPy", stack, args)}
    work = fresh(stack.work / "mintpy")
    try:
        run = run_mintpy(args.mintpy_python, stack, work, log, 2 * args.peer_limit_s)
    except RuntimeError as exc:
        return {"note": f"failed: {exc}"}
    entry: dict = {"runs_s": [round(run.seconds, 2)], "peak_mib": round(run.peak_mib)}
    if run.stopped:
        entry["note"] = f"stopped after {run.seconds:.0f} s"
        return entry
    entry["s"] = round(run.seconds, 2)
    history.record("MintPy", stack, run)
    entry["agreement"] = agreement(ours_velocity, read_velocity_mm_yr("MintPy", work),
                                   every_pair)
    return entry


def memory_entry(stack: Prepared, args: argparse.Namespace, env: dict, log: Path) -> dict:
    """Ours' peak with a budget of half the kept phase data (float32), against the peak of a
    process that only opens the stack (interpreter, numpy, GDAL)."""
    stack_mib = len(stack.files) * stack.spec.size**2 * 4 / 2**20
    budget_gb = stack_mib / 2 / 1024
    bounded = timed(ours_command(stack, fresh(stack.work / "ours_budget"), budget_gb), log,
                    env=env)
    baseline = timed([str(OURS), "info", str(stack.hyp3), "--json"], log, env=env)
    return {"kept_phase_mib": round(stack_mib), "budget_mib": round(budget_gb * 1024),
            "bounded_s": round(bounded.seconds, 2), "bounded_peak_mib": round(bounded.peak_mib),
            "open_only_peak_mib": round(baseline.peak_mib),
            "bounded_peak_above_open_mib": round(bounded.peak_mib - baseline.peak_mib)}


# ---- the table -----------------------------------------------------------------------------
def tool_cell(entry: dict) -> str:
    if "s" in entry:
        return f"{entry['s']:.2f} s"
    return entry.get("note", "")


def agreement_cell(row: dict) -> str:
    parts = [f"ours solves {row['ours_pixels_solved']:,} px "
             f"({row['pixels_valid_in_every_kept_pair']:,} valid in every kept pair)"]
    for tool in (*PEERS, "MintPy"):
        found = row["tools"][tool].get("agreement")
        if not found:
            continue
        if not found["pixels_compared"]:
            parts.append(f"{tool}: no pixel in common ({found['pixels_solved']:,} solved)")
            continue
        text = (f"{tool} {100 * found['share_within_0_05_mm_yr']:.1f}% of "
                f"{found['pixels_compared']:,} px (max {found['max_abs_diff_mm_yr']:.2g})")
        if found["pixels_solved"] != found["pixels_compared"]:
            text += f", solves {found['pixels_solved']:,}"
        if found["every_pair_pixels_compared"] != found["pixels_compared"] \
                and found["every_pair_pixels_compared"]:
            share = 100 * found["every_pair_share_within_0_05_mm_yr"]
            text += (f"; valid in every pair {share:.1f}% (max "
                     f"{found['every_pair_max_abs_diff_mm_yr']:.2g})")
        if found.get("timeseries_max_abs_diff_mm") is not None:
            text += f"; series max {found['timeseries_max_abs_diff_mm']:.2g} mm"
        parts.append(text)
    return "; ".join(parts)


def steal_cell(tools: dict) -> str:
    """CPU seconds the host took during ours' timed runs and during every tool's."""
    def total(entry: dict) -> float:
        return sum(s for s in entry.get("steal_s", []) if s is not None)

    ours = total(tools["ours"])
    every = sum(total(entry) for entry in tools.values())
    return f"{ours:.2f} / {every:.2f} s"


def markdown(rows: list[dict]) -> str:
    lines = ["| stack | ours | floor | ours / floor | insar-rs 0.3.0 | dolphin 0.42.9 | "
             "MintPy 1.6.4 | agreement with ours: share within 0.05 mm/yr (max abs diff, "
             "mm/yr) | ours' peak above open, budget | host steal during ours' / all runs |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        tools = row["tools"]
        lines.append(
            f"| {row['stack']} | {row['ours_s']:.2f} s | {row['floor_s']:.2f} s | "
            f"{row['ours_over_floor']:.2f} | {tool_cell(tools['insar-rs'])} | "
            f"{tool_cell(tools['dolphin'])} | {tool_cell(tools['MintPy'])} | "
            f"{agreement_cell(row)} | {row['bounded_peak_above_open_mib']} MiB, "
            f"{row['budget_mib']} MiB | {steal_cell(tools)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", default=",".join(STACKS),
                        help=f"comma-separated, among {', '.join(STACKS)} (default: all)")
    parser.add_argument("--data", type=Path, default=ROOT / "bench_data")
    parser.add_argument("--mintpy-python", type=Path, default=ROOT / ".bench-venv/bin/python")
    parser.add_argument("--insar-rs-python", type=Path,
                        default=ROOT / ".bench-insar-rs-venv/bin/python")
    parser.add_argument("--dolphin-python", type=Path,
                        default=ROOT / ".bench-dolphin-venv/bin/python")
    parser.add_argument("--skip-mintpy", action="store_true")
    parser.add_argument("--skip", default="", help="comma-separated peers not to run "
                                                   "(insar-rs, dolphin, mintpy)")
    parser.add_argument("--peer-limit-s", type=float, default=120.0,
                        help="skip a peer predicted to take longer on a stack; stop one that "
                             "takes twice as long (default: 120)")
    parser.add_argument("--peer-memory-gb", type=float, default=8.0,
                        help="skip a peer predicted to need more (default: 8)")
    parser.add_argument("--memory-gb", type=float, default=1.0, help="ours' budget when timed")
    parser.add_argument("--repeat", type=int, default=3,
                        help="alternating runs of ours, the floor and the peers (medians "
                             "reported); MintPy runs once")
    parser.add_argument("--cores", type=int, default=None,
                        help="run every tool on this many of the CPUs only (default: all)")
    args = parser.parse_args()
    if args.cores is not None:
        cpus = sorted(os.sched_getaffinity(0))
        if not 1 <= args.cores <= len(cpus):
            parser.error(f"--cores must be between 1 and {len(cpus)}")
        os.environ["BENCH_CPUS"] = ",".join(str(cpu) for cpu in cpus[:args.cores])
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    for name in ("mintpy_python", "insar_rs_python", "dolphin_python"):
        setattr(args, name, getattr(args, name).absolute())
    keys = [k.strip() for k in args.stacks.split(",") if k.strip()]
    unknown = [k for k in keys if k not in STACKS]
    if unknown:
        parser.error(f"unknown stack(s) {', '.join(unknown)}; choose from {', '.join(STACKS)}")
    args.data.mkdir(parents=True, exist_ok=True)
    # Ours as installed (pip byte-compiles a package when it installs it): without this, a
    # checkout run with PYTHONDONTWRITEBYTECODE compiles every module on every start.
    compileall.compile_dir(ROOT, quiet=1, rx=re.compile(r"/(\.|build|dist|bench_data|tests)"))
    rows: list[dict] = []
    history = History()
    # Smaller stacks first, so that a peer's time predicts its time on the larger ones.
    for key in sorted(keys, key=lambda k: STACKS[k].n_dates * STACKS[k].size**2):
        row = bench_stack(prepare(args.data, key), args, history)
        print(json.dumps(row), flush=True)
        rows.append(row)
        (args.data / "bench_sbas.json").write_text(json.dumps(rows, indent=2))
    rows.sort(key=lambda r: keys.index(r["key"]))
    (args.data / "bench_sbas.json").write_text(json.dumps(rows, indent=2))
    print()
    if args.cores is not None:
        print(f"Every tool on {args.cores} CPU(s) only: {os.environ['BENCH_CPUS']}.\n")
    print(markdown(rows))


if __name__ == "__main__":
    main()
