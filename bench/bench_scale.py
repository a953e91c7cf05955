"""Full frames on one machine (``make bench-scale``, issue 16): the whole job from 256² up to a
Sentinel-1 frame at 80 m, under a memory budget, and how its cost grows.

For each size (``--sizes``, e.g. ``256:30`` = 256 x 256 px and 30 dates; ``2500x3000:100``
= a frame of 2,500 x 3,000 px and 100 dates, about 520 pairs), a HyP3 stack is simulated with
``sbas-selector simulate --fast`` (kept in ``--data`` and reused), then each step runs in its
own process, timed with ``os.wait4`` (wall seconds, peak resident memory):

- open: ``sbas-selector info STACK --json`` (headers of every product, the network);
- classify: ``sbas-selector classify STACK --out labels.csv`` (the closure check and its
  repairs, the CNN on every pair, the network's evidence);
- network: ``sbas-selector network STACK --json --no-closure`` (the kept network's health;
  the closure check already ran in classify, and its verdicts are in the labels);
- invert: ``sbas-selector invert STACK --labels labels.csv --memory-gb M`` (the kept pairs).

Reported per step and in all: seconds, seconds per pair, seconds per GiB of phase and coherence
(float32, as read), peak RSS against the budget, and the cost curve: the slope of log(seconds)
against log(pixels x pairs) by least squares (1 means linear). JSON in ``--out``, a markdown
table on stdout. Not a test: the machine is shared, so times move with its load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / ".venv" / "bin" / "sbas-selector"
DEFAULT_SIZES = "256:30,512:50,1024:70,2048:90,2500x3000:100"
STEPS = ("open", "classify", "network", "invert")
#: Sizes from this many pixels up give the second slope (start-up costs negligible).
LARGE_PIXELS = 1024 * 1024


@dataclass(frozen=True)
class Size:
    """One point of the cost curve: grid and dates."""

    rows: int
    cols: int
    dates: int

    @classmethod
    def parse(cls, text: str) -> Size:
        """``N:DATES`` (N x N px) or ``ROWSxCOLS:DATES``."""
        try:
            grid, dates = text.split(":")
            rows, cols = (int(v) for v in grid.lower().split("x")) if "x" in grid.lower() \
                else (int(grid), int(grid))
            return cls(rows, cols, int(dates))
        except ValueError:
            raise argparse.ArgumentTypeError(f"a size is N:DATES or ROWSxCOLS:DATES, got "
                                             f"{text!r}") from None

    @property
    def name(self) -> str:
        return f"{self.rows}x{self.cols}_d{self.dates}"


@dataclass
class StepResult:
    """One step at one size."""

    step: str
    seconds: float
    peak_rss_gib: float
    exit_status: int


def timed(command: list[str], log: Path) -> StepResult:
    """Run one command in its own process: wall seconds and peak RSS (``wait4``)."""
    start = time.perf_counter()
    with open(log, "a", encoding="utf-8") as sink:
        sink.write(f"$ {' '.join(command)}\n")
        sink.flush()
        process = subprocess.Popen(command, stdout=sink, stderr=sink)
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    return StepResult(command[1] if len(command) > 1 else command[0], seconds,
                      usage.ru_maxrss / 2**20, os.waitstatus_to_exitcode(status))


def simulated_stack(size: Size, data: Path, seed: int, log: Path) -> tuple[Path, float | None]:
    """The stack of ``size`` (simulated with ``--fast`` unless already there) and the seconds
    it took to write (None when reused)."""
    target = data / f"{size.name}_s{seed}"
    hyp3 = target / "hyp3"
    if (target / "truth" / "labels.csv").is_file():
        return hyp3, None
    shutil.rmtree(target, ignore_errors=True)
    result = timed([str(CLI), "simulate", "--fast", "--out", str(target), "--seed", str(seed),
                    "--dates", str(size.dates), "--size", f"{size.rows}x{size.cols}"], log)
    if result.exit_status:
        raise RuntimeError(f"simulating {size.name} failed; see {log}")
    return hyp3, result.seconds


def run_size(size: Size, data: Path, out: Path, seed: int, memory_gb: float) -> dict:
    """Every step at one size, each in its own process."""
    from sbas_selector.core import open_stack

    work = out / size.name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work / "log.txt"
    hyp3, simulate_seconds = simulated_stack(size, data, seed, log)
    stack = open_stack(hyp3)
    (hyp3 / "sbas_selector_labels.json").unlink(missing_ok=True)  # a fresh classification
    labels = work / "labels.csv"
    commands = {
        "open": [str(CLI), "info", str(hyp3), "--json"],
        "classify": [str(CLI), "classify", str(hyp3), "--out", str(labels), "--device", "cpu"],
        "network": [str(CLI), "network", str(hyp3), "--json", "--no-closure"],
        "invert": [str(CLI), "invert", str(hyp3), "--labels", str(labels), "--out",
                   str(work / "inversion"), "--memory-gb", f"{memory_gb:g}"],
    }
    steps = {}
    for step in STEPS:
        result = timed(commands[step], log)
        steps[step] = asdict(result)
        print(f"  {size.name} {step}: {result.seconds:.1f} s, peak "
              f"{result.peak_rss_gib:.2f} GiB, exit {result.exit_status}", file=sys.stderr)
        if result.exit_status:
            break
    pixels = stack.grid.width * stack.grid.height
    gib = 2 * 4 * pixels * stack.n_pairs / 2**30
    disk = sum(f.stat().st_size for f in hyp3.rglob("*.tif")) / 2**30
    shutil.rmtree(work / "inversion", ignore_errors=True)  # outputs are not kept
    return {"size": size.name, "rows": size.rows, "cols": size.cols, "dates": stack.n_dates,
            "pairs": stack.n_pairs, "pixels": pixels, "pixels_x_pairs": pixels * stack.n_pairs,
            "gib_phase_and_coherence": gib, "gib_on_disk": disk,
            "simulate_seconds": simulate_seconds, "steps": steps}


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of log(seconds) against log(pixels x pairs)."""
    points = [(x, y) for x, y in points if x > 0 and y > 0]
    if len(points) < 2:
        return None
    x, y = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    return float(np.polyfit(x, y, 1)[0])


def summarise(results: list[dict], memory_gb: float) -> dict:
    """Per step and in all: seconds, per pair, per GiB, peak RSS; and each step's slope."""
    for result in results:
        done = [s for s in result["steps"].values() if s["exit_status"] == 0]
        complete = len(done) == len(STEPS)
        total = sum(s["seconds"] for s in done)
        result["total"] = {
            "complete": complete, "seconds": total,
            "seconds_per_pair": total / result["pairs"],
            "seconds_per_gib": total / result["gib_phase_and_coherence"],
            "peak_rss_gib": max((s["peak_rss_gib"] for s in result["steps"].values()),
                                default=0.0),
            "within_budget": all(s["peak_rss_gib"] <= memory_gb
                                 for s in result["steps"].values())}
    def slopes(smallest_pixels: int) -> dict[str, float | None]:
        out = {}
        for step in (*STEPS, "total"):
            points = []
            for result in results:
                entry = result["total"] if step == "total" else result["steps"].get(step)
                if result["pixels"] >= smallest_pixels and entry and (
                        entry.get("exit_status", 0) == 0 if step != "total"
                        else entry["complete"]):
                    points.append((result["pixels_x_pairs"], entry["seconds"]))
            out[step] = slope(points)
        return out

    return {"memory_gb": memory_gb, "sizes": results,
            "slope_log_seconds_vs_log_pixels_x_pairs": slopes(0),
            # Start-up (imports, the model's session) is a fixed cost that flattens the small
            # end of the curve: the slope from 1024² up says how the work itself grows.
            "slope_from_1024x1024": slopes(LARGE_PIXELS)}


def markdown(summary: dict) -> str:
    """The table the README shows."""
    budget = summary["memory_gb"]
    lines = ["| size | dates | pairs | GiB (phase + coh.) | " + " | ".join(
        f"{s} s" for s in STEPS) + " | total s | s / pair | s / GiB | peak RSS GiB "
        f"(budget {budget:g}) |", "|" + "---|" * (9 + len(STEPS) - 1)]
    for r in summary["sizes"]:
        cells = []
        for step in STEPS:
            s = r["steps"].get(step)
            cells.append("not run" if s is None else (
                f"{s['seconds']:.1f}" if s["exit_status"] == 0
                else f"failed ({s['exit_status']})"))
        t = r["total"]
        lines.append(f"| {r['rows']} x {r['cols']} | {r['dates']} | {r['pairs']} | "
                     f"{r['gib_phase_and_coherence']:.2f} | " + " | ".join(cells)
                     + f" | {t['seconds']:.1f}{'' if t['complete'] else ' (incomplete)'} | "
                       f"{t['seconds_per_pair']:.3f} | {t['seconds_per_gib']:.1f} | "
                       f"{t['peak_rss_gib']:.2f} |")
    lines.append("")
    for key, what in (("slope_log_seconds_vs_log_pixels_x_pairs", "every size"),
                      ("slope_from_1024x1024", "from 1024² up")):
        lines.append(f"Slope of log(seconds) against log(pixels x pairs), {what} (1 = linear): "
                     + ", ".join(f"{k} {v:.2f}" if v is not None else f"{k} n/a"
                                 for k, v in summary[key].items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES,
                        help=f"comma-separated N:DATES or ROWSxCOLS:DATES (default: "
                             f"{DEFAULT_SIZES})")
    parser.add_argument("--data", type=Path, default=ROOT / "bench_data" / "scale",
                        help="where the simulated stacks are kept and reused (a frame is "
                             "about 22 GB)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench_data" / "scale_results",
                        help="logs, labels and scale.json")
    parser.add_argument("--memory-gb", type=float, default=4.0,
                        help="the inversion's memory budget, GiB, and the peak RSS each step is "
                             "held to (default: 4)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drop-data", action="store_true",
                        help="delete each simulated stack once measured")
    parser.add_argument("--merge", type=Path, nargs="+", metavar="JSON",
                        help="measure nothing: merge the sizes of earlier scale.json files "
                             "(e.g. the small sizes and a frame measured apart) into one table "
                             "and slope, written to --out")
    args = parser.parse_args(argv)
    if args.merge:
        results = [r for path in args.merge
                   for r in json.loads(path.read_text(encoding="utf-8"))["sizes"]]
        results.sort(key=lambda r: r["pixels_x_pairs"])
        summary = summarise(results, args.memory_gb)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "scale.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        print(markdown(summary))
        return 0
    sizes = [Size.parse(text) for text in args.sizes.split(",") if text.strip()]
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for size in sizes:
        print(f"{size.name} ...", file=sys.stderr)
        results.append(run_size(size, args.data, args.out, args.seed, args.memory_gb))
        if args.drop_data:
            shutil.rmtree(args.data / f"{size.name}_s{args.seed}", ignore_errors=True)
        summary = summarise(results, args.memory_gb)
        (args.out / "scale.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(markdown(summary))
    print(f"\n(JSON: {args.out / 'scale.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
