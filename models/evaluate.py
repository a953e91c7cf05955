"""Evaluate a classifier on the held-out test stacks and the real stack (``make evaluate``).

Runs the plugin's own path (read, preprocess, ONNX with onnxruntime) on the test stacks,
re-simulated from their seeds (never seen in training), and reports:

- the share of high-quality interferograms kept (the paper's "extracted"), precision, the
  share of low-quality ones caught per cause;
- the real Mexico City stack: how many of its 30 (all high quality) are kept;
- the same figures for the CNN alone (its own threshold), without the network's evidence;
- the same figures for two simple rules: a mean-coherence threshold (tuned on the validation
  stacks) and loop closure (a pair misclosed in most of its triplets is dropped);
- velocity RMSE (mm/yr, coherent pixels) of the SBAS inversion with all pairs, with the
  model's selection and with the true labels.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dataset import SPLITS, stack_config

from sbas_selector.core import open_stack
from sbas_selector.core.classify import Classifier
from sbas_selector.core.inversion import run_inversion
from sbas_selector.core.network import loop_closure
from sbas_selector.core.simulation import CAUSES, simulate


def scores(keep: np.ndarray, truth_high: np.ndarray, causes: list[str]) -> dict:
    high, low = truth_high, ~truth_high
    out = {
        "high_kept": float(keep[high].mean()),
        "low_caught": float((~keep[low]).mean()),
        "precision_high": float(truth_high[keep].mean()) if keep.any() else float("nan"),
        "n_high": int(high.sum()), "n_low": int(low.sum()),
    }
    for cause in CAUSES:
        mask = np.array([cause in c for c in causes])
        if mask.any():
            out[f"caught_{cause}"] = float((~keep[mask]).mean())
    return out


def velocity_rmse(sim, keep: np.ndarray | None, folder: Path, options=None,
                  weights: np.ndarray | None = None) -> float:
    """Velocity RMSE against the truth (mm/yr, pixels of mean coherence > 0.4)."""
    from osgeo import gdal

    result = run_inversion(sim.to_stack(), folder, keep=keep, options=options,
                           pair_weights=weights)
    velocity = gdal.Open(str(result.files["velocity"])).ReadAsArray()
    row, col = result.reference_pixel
    error = (velocity - velocity[row, col]) - (sim.velocity_mm_yr
                                               - sim.velocity_mm_yr[row, col])
    coherent = np.nan_to_num(sim.coherence).mean(axis=0) > 0.4
    return float(np.sqrt(np.nanmean(error[coherent] ** 2)))


def coherence_threshold(seeds) -> float:
    """The mean-coherence threshold with the best balanced accuracy on validation stacks."""
    values, labels = [], []
    for seed in seeds:
        sim = simulate(stack_config(seed))
        values += [t.mean_coherence for t in sim.truth]
        labels += [t.label == "high" for t in sim.truth]
    values, labels = np.array(values), np.array(labels)
    best, best_score = 0.0, -1.0
    for threshold in np.linspace(0.1, 0.9, 81):
        keep = values >= threshold
        score = (keep[labels].mean() + (~keep[~labels]).mean()) / 2
        if score > best_score:
            best, best_score = float(threshold), score
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--real-stack", type=Path,
                        default=Path("../shared/data/real/mexico_city_cropA"))
    parser.add_argument("--out", type=Path, help="write the figures as JSON")
    parser.add_argument("--no-velocity", action="store_true")
    parser.add_argument("--evidence-record", type=Path,
                        default=Path(__file__).resolve().parent / "record" / "evidence_fit.json",
                        help="fit record whose CNN-less ablation is scored too")
    args = parser.parse_args()

    classifier = Classifier(args.model, device="auto")
    threshold = classifier.card.threshold
    coh_threshold = coherence_threshold(SPLITS["val"])
    image_threshold = float(classifier.card.extra.get("image_threshold", threshold))
    rows = {"model": [], "image_only": [], "coherence": [], "loop_closure": []}
    ablation = None
    if classifier.evidence_model is not None and args.evidence_record.exists():
        ablation = json.loads(args.evidence_record.read_text()).get(
            "validation_network_without_cnn")
        if ablation and "params" in ablation:
            from fit_evidence import network_only_probability  # it imports this module

            rows["network_without_cnn"] = []
    truth_high, causes, rmse = [], [], {"all": [], "model": [], "truth": []}
    work = Path(tempfile.mkdtemp(prefix="sbas-eval-"))
    for seed in SPLITS["test"]:
        sim = simulate(stack_config(seed))
        stack = sim.to_stack()
        result = classifier.classify(stack)
        p = np.array([result.probabilities[pid] for pid in stack.pair_ids])
        rows["model"].append(p >= threshold)
        rows["image_only"].append(np.array([result.image_probabilities[pid] >= image_threshold
                                            for pid in stack.pair_ids]))
        if "network_without_cnn" in rows:
            image = np.array([result.image_probabilities[pid] for pid in stack.pair_ids])
            q = network_only_probability(result.network_evidence.features(image),
                                         ablation["params"])
            rows["network_without_cnn"].append(q >= ablation["threshold"])
        rows["coherence"].append(np.array([t.mean_coherence >= coh_threshold
                                           for t in sim.truth]))
        evidence = loop_closure(stack)
        rows["loop_closure"].append(~(np.nan_to_num(evidence.misclosed_share) > 0.5))
        high = np.array([t.label == "high" for t in sim.truth])
        truth_high.append(high)
        causes += [";".join(t.causes) for t in sim.truth]
        if not args.no_velocity:
            rmse["all"].append(velocity_rmse(sim, np.ones(len(high), bool), work / "all"))
            rmse["model"].append(velocity_rmse(sim, rows["model"][-1], work / "model"))
            rmse["truth"].append(velocity_rmse(sim, high, work / "truth"))
    truth = np.concatenate(truth_high)
    report = {"classifier": {"name": classifier.card.name, "version": classifier.card.version,
                             "provider": classifier.provider, "threshold": threshold,
                             "image_threshold": image_threshold,
                             "evidence": classifier.evidence_model is not None},
              "test_stacks": len(SPLITS["test"]), "test_pairs": len(truth),
              "coherence_threshold": coh_threshold}
    for name, keeps in rows.items():
        report[name] = scores(np.concatenate(keeps), truth, causes)
    real = open_stack(args.real_stack)
    real_result = classifier.classify(real)
    report["real_kept"] = int(sum(real_result.probabilities[p] >= threshold
                                  for p in real.pair_ids))
    report["real_pairs"] = real.n_pairs
    report["real_image_only_kept"] = int(sum(real_result.image_probabilities[p]
                                             >= image_threshold for p in real.pair_ids))
    report["real_probabilities"] = {p: round(real_result.probabilities[p], 3)
                                    for p in real.pair_ids}
    if not args.no_velocity:
        report["velocity_rmse_mm_yr"] = {k: float(np.mean(v)) for k, v in rmse.items()}
        report["velocity_rmse_per_stack"] = rmse
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
