"""Render simulated interferograms (one high-quality, one per degradation cause) beside real
ones, unwrapped / re-wrapped / coherence, to check by eye that the simulator looks real.

Usage: python scripts/render_samples.py --stack SIM_STACK --truth labels.csv --real REAL_STACK
       --out samples.png
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from sbas_selector.core import open_stack
from sbas_selector.core.simulation import CAUSES


def _picks(labels: list[dict[str, str]]) -> list[tuple[str, str]]:
    picks = []
    high = [r for r in labels if r["label"] == "high"]
    if high:
        longest = max(high, key=lambda r: int(r["days"]))
        picks.append((longest["pair_id"], f"high ({longest['days']} d)"))
    for cause in CAUSES:
        rows = [r for r in labels if r["causes"] == cause]
        if rows:
            picks.append((rows[0]["pair_id"], cause.replace("_", " ")))
    return picks


def render(stack_path: Path, truth_csv: Path, real_path: Path, out: Path) -> Path:
    stack = open_stack(stack_path)
    real = open_stack(real_path)
    with open(truth_csv, newline="") as handle:
        picks = [(stack, pid, f"simulated: {title}") for pid, title in _picks(
            list(csv.DictReader(handle)))]
    for pid in ("20180106_20180518", "20180331_20180623"):
        picks.append((real, pid, f"real: {pid}"))
    fig, axes = plt.subplots(3, len(picks), figsize=(3.2 * len(picks), 9), squeeze=False)
    for column, (source, pid, title) in enumerate(picks):
        index = source.index_of(pid)
        phase = source.read_phase(index)
        phase = phase - np.nanmedian(phase)
        axes[0, column].imshow(phase, cmap="RdBu_r")
        axes[0, column].set_title(title, fontsize=9)
        axes[1, column].imshow(np.angle(np.exp(1j * phase)), cmap="hsv", vmin=-np.pi,
                               vmax=np.pi, interpolation="nearest")
        coherence = source.read_coherence(index)
        if coherence is not None:
            axes[2, column].imshow(coherence, cmap="gray", vmin=0, vmax=1)
        for row in range(3):
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
    for row, name in enumerate(("unwrapped", "re-wrapped", "coherence")):
        axes[row, 0].set_ylabel(name)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=55)
    plt.close(fig)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--real", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    print(f"wrote {render(args.stack, args.truth, args.real, args.out)}")


if __name__ == "__main__":
    main()
