"""Issue 7's evaluation: does the selection keep the time series intact?

On simulated stacks where dropping the truly low-quality pairs splits the network, and on
stacks where it does not, velocity RMSE (mm/yr, coherent pixels) for: all pairs; the model's
hard selection with minimum norm; with re-admission of the fewest pairs that reconnect it; with
gap bridging; soft weighting by the model's probability; and the true labels.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dataset import stack_config

from sbas_selector.core.classify import Classifier
from sbas_selector.core.connectivity import propose_readmissions
from sbas_selector.core.inversion import InversionOptions, run_inversion
from sbas_selector.core.inversion.network import date_components
from sbas_selector.core.simulation import simulate


def sparse_config(seed: int):
    """Sparser networks with stormy spells: dropping bad pairs often splits them."""
    base = stack_config(seed)
    return dataclasses.replace(base, max_days=36, low_quality_fraction=0.35,
                               cause_weights={"strong_atmosphere": 0.5, "decorrelation": 0.3,
                                              "unwrapping_error": 0.1, "orbital_ramp": 0.1})


def rmse_with(sim, folder: Path, keep=None, options=None, weights=None) -> float:
    from osgeo import gdal

    result = run_inversion(sim.to_stack(), folder, keep=keep, options=options,
                           pair_weights=weights)
    velocity = gdal.Open(str(result.files["velocity"])).ReadAsArray()
    row, col = result.reference_pixel
    error = (velocity - velocity[row, col]) - (sim.velocity_mm_yr
                                               - sim.velocity_mm_yr[row, col])
    coherent = np.nan_to_num(sim.coherence).mean(axis=0) > 0.4
    return float(np.sqrt(np.nanmean(error[coherent] ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--stacks", type=int, default=4, help="of each kind")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    classifier = Classifier(args.model, device="auto")
    work = Path(tempfile.mkdtemp(prefix="sbas-conn-"))
    found = {"split": [], "connected": []}
    seed = 300
    while min(len(v) for v in found.values()) < args.stacks and seed < 360:
        sim = simulate(sparse_config(seed) if seed % 2 else stack_config(seed))
        truth = np.array([t.label == "high" for t in sim.truth])
        pairs = [(p.date1, p.date2) for p in sim.pairs]
        kept = [pair for pair, k in zip(pairs, truth) if k]
        dates = sorted({d for pair in kept for d in pair})
        kind = "split" if len(date_components(dates, kept)) > 1 else "connected"
        if len(found[kind]) < args.stacks:
            found[kind].append((seed, sim))
        seed += 1
    rows = []
    for kind, sims in found.items():
        for seed, sim in sims:
            stack = sim.to_stack()
            scores = classifier.classify(stack).probabilities
            probability = np.array([scores[p] for p in stack.pair_ids])
            selected = probability >= classifier.card.threshold
            truth = np.array([t.label == "high" for t in sim.truth])
            coherence = np.array([t.mean_coherence for t in sim.truth])
            plan = propose_readmissions([(p.date1, p.date2) for p in stack.pairs],
                                        stack.pair_ids, selected, probability, coherence)
            readmitted = selected.copy()
            readmitted[[r.index for r in plan.proposals]] = True
            folder = work / f"{seed}"
            row = {"seed": seed, "kind": kind, "pairs": len(truth),
                   "low_true": int((~truth).sum()), "dropped": int((~selected).sum()),
                   "pieces_after_selection": plan.pieces_before,
                   "readmitted": len(plan.proposals)}
            row["all"] = rmse_with(sim, folder / "all")
            row["hard"] = rmse_with(sim, folder / "hard", selected)
            row["hard_readmit"] = rmse_with(sim, folder / "readmit", readmitted)
            row["hard_bridge"] = rmse_with(sim, folder / "bridge", selected,
                                           InversionOptions(bridge_gaps=True))
            row["soft"] = rmse_with(sim, folder / "soft", None, None, probability)
            row["truth"] = rmse_with(sim, folder / "truth", truth)
            row["truth_bridge"] = rmse_with(sim, folder / "truth_bridge", truth,
                                            InversionOptions(bridge_gaps=True))
            print(json.dumps(row), flush=True)
            rows.append(row)
    methods = ("all", "hard", "hard_readmit", "hard_bridge", "soft", "truth", "truth_bridge")
    summary = {kind: {m: float(np.mean([r[m] for r in rows if r["kind"] == kind]))
                      for m in methods} for kind in found}
    report = {"rows": rows, "mean_rmse_mm_yr": summary}
    print(json.dumps(summary, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
