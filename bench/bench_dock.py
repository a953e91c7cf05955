"""How the dock copes with a frame-sized network (``make bench-dock``): the main-thread time of
each step an analyst takes (open a stack, its first layers, the baseline graph drawn, a pair
selected, a K/D decision, the table filtered, Classify's completion) on simulated stacks of
about 100 and 400 pairs, and the longest the Qt event loop stalls while the stack opens in its
background task. Not a test: the machine is shared; quote medians.

``--profile STEP`` prints cProfile's top functions of one step (at the largest stack).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from unittest import mock

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
#: Simulated networks: dates -> pairs with 60-day pairs (seed 3): 28 -> 102, 92 -> 408.
NETWORKS = {100: 28, 400: 92}
STEPS = ("open_handler", "first_layer", "graph_paint", "select_pair", "decision",
         "filter_table", "classify_handler")


def simulated_stack(data: Path, pairs: int, size: str) -> Path:
    """A HyP3 folder of about ``pairs`` pairs (simulated once, kept in ``data``)."""
    from sbas_selector.core.simulation import SimulationConfig, simulate, write_simulation

    rows, cols = (int(v) for v in size.split("x"))
    folder = data / f"dock_{pairs}_{rows}x{cols}"
    if not (folder / "hyp3").is_dir():
        sim = simulate(SimulationConfig(seed=3, n_dates=NETWORKS[pairs], rows=rows, cols=cols,
                                        max_days=60))
        write_simulation(sim, folder, ("hyp3",))
    return folder / "hyp3"


def frame_stack(data: Path) -> Path:
    """A GeoTIFF folder of three pairs on a Sentinel-1 frame's grid (2,500 x 3,000 px): fringes
    and noise, no simulation (what matters is the size of what the map shows)."""
    import numpy as np

    from sbas_selector.core.formats.geotiff import write_geotiff_folder
    from sbas_selector.core.raster_io import crs_wkt_from_epsg
    from sbas_selector.core.sources import ArraySource
    from sbas_selector.core.stack import Stack
    from sbas_selector.core.stack_types import Grid, Pair

    folder = data / "dock_frame_2500x3000"
    if folder.is_dir():
        return folder
    rows, cols = 2500, 3000
    rng = np.random.default_rng(0)
    x = np.arange(cols, dtype=np.float32)[np.newaxis, :] / 300.0
    phase = [(20 * np.sin(x + k) + rng.normal(0, 0.5, (rows, cols))).astype(np.float32)
             for k in range(3)]
    coherence = [rng.uniform(0.2, 0.9, (rows, cols)).astype(np.float32) for _ in range(3)]
    dates = [date(2020, 1, 4) + timedelta(days=12 * k) for k in range(3)]
    stack = Stack(path="<memory>", format_name="memory",
                  pairs=[Pair(dates[i], dates[j], 10.0 * (j - i)) for i, j in
                         ((0, 1), (1, 2), (0, 2))],
                  phase_sources=[ArraySource(a) for a in phase],
                  coherence_sources=[ArraySource(a) for a in coherence],
                  grid=Grid(cols, rows, (480_000.0, 80.0, 0.0, 2_160_000.0, 0.0, -80.0),
                            crs_wkt_from_epsg(32614)),
                  wavelength_m=0.0555)
    return write_geotiff_folder(stack, folder)


def _process_events_until(condition: Callable[[], bool], timeout_s: float = 600.0) -> float:
    """Run the event loop until ``condition()``; returns the longest gap between two turns of
    the loop (seconds), i.e. how long the UI was unresponsive at worst."""
    from qgis.PyQt.QtCore import QCoreApplication

    deadline = time.monotonic() + timeout_s
    longest, last = 0.0, time.perf_counter()
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the stack did not open in time")
        QCoreApplication.processEvents()
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
        time.sleep(0.005)
    return longest


class DockBench:
    """One plugin dock in a headless QGIS, with a mock iface (as the qgis test tier)."""

    def __init__(self) -> None:
        from qgis.gui import QgisInterface, QgsMapCanvas
        from qgis.PyQt.QtWidgets import QMainWindow

        import sbas_selector

        self.data_home = tempfile.mkdtemp(prefix="sbas-bench-dock-")  # display rasters
        self.window = QMainWindow()
        self.iface = mock.Mock(spec=QgisInterface)
        self.iface.mainWindow.return_value = self.window
        self.canvas = QgsMapCanvas(self.window)
        self.canvas.resize(800, 600)
        self.iface.mapCanvas.return_value = self.canvas
        self.plugin = sbas_selector.classFactory(self.iface)
        self.plugin.initGui()
        self.dock = self.plugin.dock
        self.dock.confirm = lambda title, text: True
        self.dock.resize(700, 900)
        self.dock.show()  # painted as in QGIS: the table and the graph draw what they show

    def open(self, path: Path, profile: bool = False) -> dict[str, float]:
        """Open ``path``: the task's time (background), the handler's (main thread), and the
        event loop's longest stall while it ran."""
        from sbas_selector.core.labels import sidecar_path

        # Every run starts afresh: no labels from an earlier run, no display rasters written.
        sidecar_path(path).unlink(missing_ok=True)
        os.environ["XDG_DATA_HOME"] = self.data_home
        dock = self.dock
        handler_s: list[float] = []
        original = dock._opened

        def timed(result):
            profiler = cProfile.Profile() if profile else None
            started = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            original(result)
            if profiler is not None:
                profiler.disable()
            handler_s.append(time.perf_counter() - started)
            if profiler is not None:
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)

        dock._opened = timed  # the task takes the bound callback when it is made
        started = time.perf_counter()
        dock.open_stack(str(path))
        stall = _process_events_until(lambda: bool(handler_s))
        total = time.perf_counter() - started
        del dock._opened
        return {"open_total": total, "open_handler": handler_s[0], "open_stall": stall}

    def steps(self, profile: str | None = None) -> dict[str, float]:
        """Each review step once, timed (and, for ``profile``, profiled)."""
        from qgis.PyQt.QtCore import QCoreApplication

        dock = self.dock
        n = dock.stack.n_pairs
        fresh = [i for i in range(n) if i not in dock.layers.phase_layers]
        actions: dict[str, Callable[[], object]] = {
            "first_layer": lambda: dock.select_pair(fresh[len(fresh) // 2]),
            "graph_paint": lambda: dock.graph.grab(),
            "select_pair": lambda: dock.select_pair(0),
            "decision": lambda: dock.mark("low"),
            "filter_table": lambda: dock.filter_edit.setText("low"),
            "classify_handler": lambda: dock._classified((None, fake_classification(dock))),
        }
        times = {}
        for name, action in actions.items():
            QCoreApplication.processEvents()
            profiler = cProfile.Profile() if name == profile else None
            started = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            action()
            QCoreApplication.processEvents()  # what the step queued (repaints) counts too
            if profiler is not None:
                profiler.disable()
            times[name] = time.perf_counter() - started
            if profiler is not None:
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        dock.filter_edit.setText("")
        dock.mark(None)
        times.update(self.step_through())
        return times

    def step_through(self) -> dict[str, float]:
        """Every pair in turn, as with the arrow keys (each pair's layers made on the way):
        the median and the longest step, and the longest step over the last tenth (does
        a step slow down as the layer tree fills?)."""
        from qgis.PyQt.QtCore import QCoreApplication

        steps = []
        for index in range(self.dock.stack.n_pairs):
            started = time.perf_counter()
            self.dock.select_pair(index)
            QCoreApplication.processEvents()
            steps.append(time.perf_counter() - started)
        tail = steps[-max(len(steps) // 10, 1):]
        return {"step_median": statistics.median(steps), "step_max": max(steps),
                "step_last_tenth_median": statistics.median(tail)}

    def frame_layer(self) -> dict[str, float]:
        """Select a pair not shown yet: how long the main thread is held, and how long until
        its layer is on the map (written in the background for a frame)."""
        dock = self.dock
        pending = getattr(dock.layers, "pending", {})  # (none before issue 16)
        index = next(i for i in range(dock.stack.n_pairs)
                     if i not in dock.layers.phase_layers and i not in pending)
        started = time.perf_counter()
        dock.select_pair(index)
        held = time.perf_counter() - started
        stall = _process_events_until(lambda: index in dock.layers.phase_layers)
        return {"first_layer": held, "first_layer_ready": time.perf_counter() - started,
                "first_layer_stall": stall}

    def close(self) -> None:
        from qgis.core import QgsProject

        self.plugin.unload()
        QgsProject.instance().clear()
        self.window.deleteLater()
        shutil.rmtree(self.data_home, ignore_errors=True)


def fake_classification(dock) -> object:
    """A classification result for every pair of the open stack (seeded scores): what the
    classify task hands its completion handler."""
    import numpy as np

    from sbas_selector.core.classify import ClassificationResult

    scores = np.random.default_rng(0).uniform(size=dock.stack.n_pairs)
    return ClassificationResult(
        probabilities=dict(zip(dock.stack.pair_ids, (float(s) for s in scores))),
        no_data=(), provider="CPU: benchmark", model={"name": "bench", "threshold": 0.5},
        evidence={p: "bench" for p in dock.stack.pair_ids})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "bench_data")
    parser.add_argument("--pairs", type=int, nargs="+", default=sorted(NETWORKS),
                        choices=sorted(NETWORKS))
    parser.add_argument("--size", default="64x64", help="ROWSxCOLS of the simulated rasters")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frame", action="store_true",
                        help="also a stack on a 2,500 x 3,000 px grid: its first layer")
    parser.add_argument("--profile", choices=("open_handler", *STEPS[1:]), default=None,
                        help="print cProfile's top functions of this step (largest stack)")
    args = parser.parse_args()

    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    for pairs in args.pairs:
        path = simulated_stack(args.data, pairs, args.size)
        runs: dict[str, list[float]] = {}
        n_pairs = 0
        for repeat in range(args.repeats):
            bench = DockBench()
            profile = args.profile if pairs == max(args.pairs) and repeat == 0 else None
            times = bench.open(path, profile == "open_handler")
            times.update(bench.steps(profile))
            n_pairs = bench.dock.stack.n_pairs
            bench.close()
            for name, value in times.items():
                runs.setdefault(name, []).append(value)
        print(json.dumps({"pairs": n_pairs, "size_px": args.size,
                          **{f"{k}_s": round(statistics.median(v), 4)
                             for k, v in runs.items()}}))
    if args.frame:
        path = frame_stack(args.data)
        runs = {}
        for _ in range(args.repeats):
            bench = DockBench()
            times = bench.open(path)
            times.update(bench.frame_layer())
            bench.close()
            for name, value in times.items():
                runs.setdefault(name, []).append(value)
        print(json.dumps({"pairs": 3, "size_px": "2500x3000",
                          **{f"{k}_s": round(statistics.median(v), 4)
                             for k, v in runs.items()}}))


if __name__ == "__main__":
    main()
