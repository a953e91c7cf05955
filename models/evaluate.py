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
  model's selection and with the true labels;
- small local unwrapping errors (simulated in about 12% of the good pairs: 12 pixels to 1% of
  the land): pairs repaired or dropped, good pairs touched, patch pixels corrected with the
  right cycles (or masked), and the velocity RMSE inside the error patches for the pipeline
  (closure check, repairs, classifier) against the true labels with those pairs dropped and
  with them kept unrepaired.

"model" is the whole selection as the plugin runs it (closure check and repairs first, then
the classifier on the repaired pairs); "model_without_repairs" is the classifier alone on the
pairs as they are.
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
from sbas_selector.core.labels import LabelsStore
from sbas_selector.core.network import loop_closure
from sbas_selector.core.repair_flow import classify_with_repairs
from sbas_selector.core.repairs import repaired_stack
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


def velocity_error(sim, keep: np.ndarray | None, folder: Path, options=None,
                   weights: np.ndarray | None = None, stack=None) -> np.ndarray:
    """Velocity minus the truth, both relative to the reference pixel, mm/yr, (rows, cols).

    ``stack`` defaults to the simulated stack as it is (pass a repaired one to score repairs).
    """
    from osgeo import gdal

    stack = sim.to_stack() if stack is None else stack
    result = run_inversion(stack, folder, keep=keep, options=options, pair_weights=weights)
    velocity = gdal.Open(str(result.files["velocity"])).ReadAsArray()
    row, col = result.reference_pixel
    return (velocity - velocity[row, col]) - (sim.velocity_mm_yr - sim.velocity_mm_yr[row, col])


def velocity_rmse(sim, keep: np.ndarray | None, folder: Path, options=None,
                  weights: np.ndarray | None = None, stack=None) -> float:
    """Velocity RMSE against the truth (mm/yr, pixels of mean coherence > 0.4)."""
    error = velocity_error(sim, keep, folder, options, weights, stack)
    coherent = np.nan_to_num(sim.coherence).mean(axis=0) > 0.4
    return float(np.sqrt(np.nanmean(error[coherent] ** 2)))


def small_error_scores(sim, store, keep: np.ndarray) -> dict:
    """How the pipeline handled the simulated small local unwrapping errors of one stack."""
    out = {"error_pairs": 0, "error_pairs_handled": 0, "error_pairs_repaired": 0,
           "error_pairs_dropped": 0, "good_pairs": 0, "good_pairs_touched": 0,
           "patch_pixels": 0, "pixels_corrected": 0, "pixels_masked": 0,
           "pixels_wrongly_corrected": 0}
    shape = sim.phase.shape[1:]
    for p, (pair, truth) in enumerate(zip(sim.pairs, sim.truth)):
        entry = store.labels[pair.pair_id]
        applied = np.zeros(shape, dtype=np.int8)
        masked = np.zeros(shape, dtype=bool)
        for patch in entry.active_repairs:
            inside = patch.full_mask(*shape)
            if patch.action == "correct":
                applied[inside] = patch.cycles
            else:
                masked |= inside
        true = sim.small_errors.get(p)
        if true is not None:
            out["error_pairs"] += 1
            repaired = bool(entry.active_repairs)
            dropped = not keep[p]
            out["error_pairs_repaired"] += repaired and not dropped
            out["error_pairs_dropped"] += dropped
            out["error_pairs_handled"] += repaired or dropped
            error = true != 0
            out["patch_pixels"] += int(error.sum())
            out["pixels_corrected"] += int((error & (applied == true)).sum())
            out["pixels_masked"] += int((error & masked & (applied != true)).sum())
            out["pixels_wrongly_corrected"] += int(((applied != 0) & (applied != true)).sum())
        elif truth.label == "high":
            out["good_pairs"] += 1
            touched = bool(entry.active_repairs) or entry.closure == "dropped"
            out["good_pairs_touched"] += touched
            out["pixels_wrongly_corrected"] += int((applied != 0).sum())
    return out


def perfectly_repaired(sim):
    """The simulated stack with every small local error undone exactly (the oracle)."""
    from sbas_selector.core.sources import ArraySource

    phase = sim.phase.copy()
    for p, cycles in sim.small_errors.items():
        phase[p] -= (2 * np.pi * cycles).astype(phase.dtype)
    return sim.to_stack().with_phase_sources([ArraySource(a) for a in phase])


def patch_rmse(errors: dict[str, np.ndarray], sim) -> dict[str, tuple[float, int]]:
    """Sum of squared velocity errors and pixel count inside the small-error patches (pixels
    every run solved), per run name."""
    patches = np.zeros(sim.phase.shape[1:], dtype=bool)
    for cycles in sim.small_errors.values():
        patches |= cycles != 0
    solved = patches.copy()
    for error in errors.values():
        solved &= np.isfinite(error)
    return {name: (float(np.sum(error[solved] ** 2)), int(solved.sum()))
            for name, error in errors.items()}


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
    rows = {"model": [], "model_without_repairs": [], "image_only": [], "coherence": [],
            "loop_closure": []}
    small: dict[str, int] = {}
    patch_sums: dict[str, list[float]] = {}
    patch_per_stack: dict[str, list[float]] = {}
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
        store = LabelsStore.open(stack, work / f"labels_{seed}.json")
        _, result = classify_with_repairs(classifier, stack, store, threshold)
        rows["model"].append(np.array(store.keep_mask()))
        plain = classifier.classify(stack)
        rows["model_without_repairs"].append(
            np.array([plain.probabilities[pid] >= threshold for pid in stack.pair_ids]))
        for key, value in small_error_scores(sim, store, rows["model"][-1]).items():
            small[key] = small.get(key, 0) + value
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
            repaired = repaired_stack(stack, store.active_repairs())
            errors = {
                "all": velocity_error(sim, np.ones(len(high), bool), work / "all"),
                "model": velocity_error(sim, rows["model"][-1], work / "model",
                                        stack=repaired),
                "model_without_repairs": velocity_error(
                    sim, rows["model_without_repairs"][-1], work / "plain"),
                "truth": velocity_error(sim, high, work / "truth"),
            }
            has_small = np.array([p in sim.small_errors for p in range(len(high))])
            errors["truth_small_errors_dropped"] = velocity_error(
                sim, high & ~has_small, work / "truth_drop")
            # The same true selection with our repairs, and with a perfect repair: the
            # repairs' own effect, apart from which other pairs the classifier keeps.
            errors["truth_with_our_repairs"] = velocity_error(sim, high, work / "truth_ours",
                                                              stack=repaired)
            errors["truth_with_perfect_repairs"] = velocity_error(
                sim, high, work / "truth_perfect", stack=perfectly_repaired(sim))
            coherent = np.nan_to_num(sim.coherence).mean(axis=0) > 0.4
            for name in ("all", "model", "truth"):
                rmse[name].append(float(np.sqrt(np.nanmean(errors[name][coherent] ** 2))))
            for name, (total, count) in patch_rmse(errors, sim).items():
                sums = patch_sums.setdefault(name, [0.0, 0])
                sums[0] += total
                sums[1] += count
                patch_per_stack.setdefault(name, []).append(
                    round(float(np.sqrt(total / max(count, 1))), 2))
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
    small["share_handled"] = small["error_pairs_handled"] / max(small["error_pairs"], 1)
    small["share_good_touched"] = small["good_pairs_touched"] / max(small["good_pairs"], 1)
    small["share_pixels_corrected"] = small["pixels_corrected"] / max(small["patch_pixels"], 1)
    small["share_pixels_masked"] = small["pixels_masked"] / max(small["patch_pixels"], 1)
    report["small_errors"] = small
    if not args.no_velocity:
        report["velocity_rmse_mm_yr"] = {k: float(np.mean(v)) for k, v in rmse.items()}
        report["velocity_rmse_per_stack"] = rmse
        report["velocity_rmse_in_patches_mm_yr"] = {
            name: float(np.sqrt(total / max(count, 1))) for name, (total, count)
            in patch_sums.items()}
        report["velocity_rmse_in_patches_per_stack"] = patch_per_stack
        report["patch_pixels_scored"] = int(next(iter(patch_sums.values()))[1]) \
            if patch_sums else 0
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
