"""The whole job in one call, without a display: open a stack, classify every pair, select
(keeping the network connected), export the pair lists, invert, and write a one-page summary
(PNG and HTML). ``sbas-selector pipeline`` and ``make demo`` run it.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .core import strict_json


@dataclass
class PipelineResult:
    """What the pipeline wrote and measured."""

    out_dir: Path
    summary_png: Path
    summary_html: Path
    figures: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)


def run_pipeline(stack_path: str | Path, out_dir: str | Path, *, model: str | None = None,
                 device: str = "auto", keep_connected: bool = True, memory_gb: float = 1.0,
                 repair: bool = True, log: Any = print) -> PipelineResult:
    """Open, classify, select, export, invert and summarise one stack.

    With ``repair`` (the default) small local unwrapping errors are found by per-pixel triplet
    closure first and corrected or masked (on the fly: the stack's files are not touched), and
    the classifier and the inversion read the repaired pairs.

    Labels go to ``out_dir/labels.json`` (the stack's own labels are left alone), pair lists
    to ``out_dir/exports/``, the inversion to ``out_dir/inversion/``, and the summary to
    ``out_dir/summary.png`` and ``out_dir/summary.html``.

    Raises
    ------
    StackError, ClassifierError
        With the file and what is wrong; nothing is left half-written by the inversion.
    """
    from .core.classify import Classifier
    from .core.connectivity import readmit_to_connect
    from .core.exports import export_pairs
    from .core.formats import open_stack
    from .core.inversion import InversionOptions, run_inversion
    from .core.labels import Label, LabelsStore
    from .core.repair_flow import classify_with_repairs, repair_lines
    from .core.repairs import repaired_stack
    from .core.review import baseline_graph

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    stack = open_stack(stack_path)
    seconds["open"] = time.perf_counter() - start
    log(f"opened {stack.path}: {stack.n_dates} dates, {stack.n_pairs} pairs, "
        f"{stack.grid.height} x {stack.grid.width} px")

    start = time.perf_counter()
    labels_path = out_dir / "labels.json"
    labels_path.unlink(missing_ok=True)  # a fresh run, not the previous run's overrides
    store = LabelsStore.open(stack, labels_path)
    classifier = Classifier(model, device)
    check, result = classify_with_repairs(classifier, stack, store, classifier.card.threshold,
                                          repair=repair)
    seconds["classify"] = time.perf_counter() - start
    model_kept = sum(store.final(p) is Label.HIGH for p in stack.pair_ids)
    if check is not None:
        log(check.summary())
        for line in repair_lines(store, stack.pair_ids):
            log(f"  {line}")
    log(f"classified on {result.provider}: {model_kept} of {stack.n_pairs} pairs high quality "
        f"(threshold {classifier.card.threshold:.2f})")
    repaired = repaired_stack(stack, store.active_repairs())

    plan = readmit_to_connect(stack, store) if keep_connected else None
    for proposal in plan.proposals if plan else ():
        log(f"  {proposal.describe()}")
    graph = baseline_graph(stack, store)  # its health is the final selection's

    exports_dir = out_dir / "exports"
    exports_dir.mkdir(exist_ok=True)
    files: dict[str, Path] = {"labels": labels_path}
    for fmt, name in (("csv", "pairs.csv"), ("mintpy", "mintpy_exclude.txt"),
                      ("licsbas", "licsbas_rm_ifg_list.txt")):
        for path in export_pairs(stack, store, fmt, str(exports_dir / name)):
            files[f"export {Path(path).name}"] = Path(path)

    start = time.perf_counter()
    # Re-admission, then bridging of what stays split (pixels a few pairs miss): the best of
    # the strategies on both kinds of stack in docs/connectivity.md.
    inversion = run_inversion(repaired, out_dir / "inversion", keep=np.array(store.keep_mask()),
                              options=InversionOptions(memory_gb=memory_gb, bridge_gaps=True))
    seconds["invert"] = time.perf_counter() - start
    files.update({f"inversion {k}": Path(v) for k, v in inversion.files.items()})
    log(f"inverted {inversion.n_pairs} pairs: {inversion.pixels_solved} pixels solved")

    from osgeo import gdal

    gdal.UseExceptions()
    velocity = gdal.Open(str(inversion.files["velocity"])).ReadAsArray().astype(float)
    finite = velocity[np.isfinite(velocity)]
    figures: dict[str, Any] = {
        "stack": str(stack.path),
        "dates": stack.n_dates,
        "pairs": stack.n_pairs,
        "grid": f"{stack.grid.height} x {stack.grid.width} px",
        "model": f"{classifier.card.name} {classifier.card.version}",
        "inference": result.provider,
        "threshold": round(classifier.card.threshold, 3),
        "kept by the model": model_kept,
        "pairs repaired (patches)": (
            "{} ({})".format(*_repair_counts(store)) if check is not None else "not checked"),
        "re-admitted to keep the network connected": len(plan.proposals) if plan else 0,
        "kept in all": int(sum(store.keep_mask())),
        "network": ("connected" if graph.health.connected
                    else f"split into {len(graph.health.pieces)} pieces"),
        "dates cut off (no pair can reconnect them)": (
            sum(len(piece) for piece in plan.unreachable) if plan else 0),
        "reference pixel": "row {}, col {}".format(*inversion.reference_pixel),
        "pixels solved": inversion.pixels_solved,
        "velocity median (mm/yr)": round(float(np.median(finite)), 2) if finite.size else None,
        "velocity 5th-95th percentile (mm/yr)": (
            [round(float(v), 2) for v in np.percentile(finite, [5, 95])] if finite.size
            else None),
        "seconds (open / classify / invert)": [round(seconds[k], 2)
                                               for k in ("open", "classify", "invert")],
    }
    png = write_summary_png(out_dir / "summary.png", graph, velocity, figures,
                            f"{stack.path.name}: classified, selected and inverted")
    (out_dir / "summary.json").write_text(strict_json.dumps(figures, indent=2),
                                         encoding="utf-8")
    page = write_summary_html(out_dir / "summary.html", png, figures, files, inversion.warnings,
                              out_dir)
    return PipelineResult(out_dir, png, page, figures, files)


def _repair_counts(store) -> tuple[int, int]:
    """Pairs with active repairs, and their patches."""
    repairs = store.active_repairs()
    return len(repairs), sum(len(p) for p in repairs.values())


def write_summary_png(path: Path, graph: Any, velocity: np.ndarray, figures: dict[str, Any],
                      title: str) -> Path:
    """One page: the baseline graph coloured by the result, the velocity map (symmetric
    diverging scale, mm/yr), and the table of figures."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plots import draw_baseline_network

    fig = plt.figure(figsize=(13, 8.6))
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 1.05], width_ratios=[1.25, 1])
    draw_baseline_network(fig.add_subplot(grid[0, :]), graph, "baseline network: colour is "
                          "the model's probability of high quality, dashed lines are dropped")
    ax = fig.add_subplot(grid[1, 0])
    finite = velocity[np.isfinite(velocity)]
    limit = float(np.percentile(np.abs(finite), 98)) if finite.size else 1.0
    image = ax.imshow(velocity, cmap="RdBu", vmin=-limit, vmax=limit, interpolation="nearest")
    fig.colorbar(image, ax=ax, label="LOS velocity (mm/yr, + toward the satellite)",
                 fraction=0.04)
    ax.set_title("velocity from the kept pairs", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    table_ax = fig.add_subplot(grid[1, 1])
    table_ax.axis("off")
    rows = [[key, _text(value)] for key, value in figures.items() if key != "stack"]
    table = table_ax.table(cellText=rows, colLabels=["figure", "value"], loc="center",
                           cellLoc="left", colWidths=[0.62, 0.38])
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, 1.25)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_summary_html(path: Path, png: Path, figures: dict[str, Any], files: dict[str, Path],
                       warnings: list[str], base: Path) -> Path:
    """The summary as a self-contained page beside the PNG: the picture, the figures, the
    warnings and links to every file written (relative, so the folder can be moved)."""
    def link(target: Path) -> str:
        try:
            relative = target.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            relative = target.resolve().as_uri()
        return f'<a href="{html.escape(relative)}">{html.escape(relative)}</a>'

    rows = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(_text(v))}</td></tr>"
                     for k, v in figures.items())
    outputs = "\n".join(f"<li>{html.escape(name)}: {link(p)}</li>" for name, p in files.items())
    notes = "".join(f"<li>{html.escape(w)}</li>" for w in warnings) or "<li>none</li>"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>SBAS Selector summary: {html.escape(Path(str(figures['stack'])).name)}</title>
<style>body{{font-family:sans-serif;max-width:1320px;margin:1em auto}}
th{{text-align:left;padding-right:1em}}td,th{{border-bottom:1px solid #ddd}}</style>
</head><body>
<h1>SBAS Selector: {html.escape(str(figures['stack']))}</h1>
<img src="{html.escape(png.name)}" alt="baseline network, velocity map and figures"
 style="max-width:100%">
<h2>Figures</h2><table>{rows}</table>
<h2>Warnings</h2><ul>{notes}</ul>
<h2>Files</h2><ul>{outputs}</ul>
<h2>Open in QGIS</h2>
<p>Layer &rsaquo; Add Layer &rsaquo; Add Raster Layer&hellip;:
<code>inversion/velocity.tif</code> (its style, <code>velocity.qml</code>, applies itself;
<code>inversion/timeseries.tif</code> has one band per date). To review the pairs yourself,
open the stack in the SBAS Selector dock (or Plugins &rsaquo; SBAS Selector &rsaquo; Load
sample stack) and press Classify.</p>
</body></html>
"""
    path.write_text(page, encoding="utf-8")
    return path


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return " / ".join(str(v) for v in value)
    return "" if value is None else str(value)
