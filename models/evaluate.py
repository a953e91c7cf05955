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


#: Stacks never looked at while the closure check was developed (seeds outside every split,
#: the calibration stacks and the connectivity evaluation's).
REPAIR_HOLDOUT = range(600, 610)


class RepairTally:
    """Small-error figures summed over stacks (:func:`small_error_scores`) and the velocity
    RMSE inside the error patches for each selection."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.sums: dict[str, list[float]] = {}
        self.per_stack: dict[str, list[float]] = {}

    def add_selection(self, sim, store, keep: np.ndarray) -> None:
        for key, value in small_error_scores(sim, store, keep).items():
            self.counts[key] = self.counts.get(key, 0) + value

    def add_velocities(self, sim, store, keep: np.ndarray, work: Path,
                       others: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Invert the model's selection with our repairs, the true labels (small-error pairs
        kept as they are, dropped, repaired by us, repaired perfectly) and ``others``
        (selections inverted as they are); returns each velocity error (mm/yr)."""
        stack = sim.to_stack()
        repaired = repaired_stack(stack, store.active_repairs())
        high = np.array([t.label == "high" for t in sim.truth])
        has_small = np.array([p in sim.small_errors for p in range(len(high))])
        errors = {name: velocity_error(sim, selection, work / name)
                  for name, selection in others.items()}
        errors["model"] = velocity_error(sim, keep, work / "model", stack=repaired)
        errors["truth"] = velocity_error(sim, high, work / "truth")
        errors["truth_small_errors_dropped"] = velocity_error(sim, high & ~has_small,
                                                              work / "truth_drop")
        # The same true selection with our repairs, and with a perfect repair: the repairs'
        # own effect, apart from which other pairs the classifier keeps.
        errors["truth_with_our_repairs"] = velocity_error(sim, high, work / "truth_ours",
                                                          stack=repaired)
        errors["truth_with_perfect_repairs"] = velocity_error(
            sim, high, work / "truth_perfect", stack=perfectly_repaired(sim))
        for name, (total, count) in patch_rmse(errors, sim).items():
            sums = self.sums.setdefault(name, [0.0, 0])
            sums[0] += total
            sums[1] += count
            self.per_stack.setdefault(name, []).append(
                round(float(np.sqrt(total / max(count, 1))), 2))
        return errors

    def report(self) -> dict:
        out: dict = dict(self.counts)
        c = self.counts
        out["share_handled"] = c["error_pairs_handled"] / max(c["error_pairs"], 1)
        out["share_good_touched"] = c["good_pairs_touched"] / max(c["good_pairs"], 1)
        out["share_pixels_corrected"] = c["pixels_corrected"] / max(c["patch_pixels"], 1)
        out["share_pixels_masked"] = c["pixels_masked"] / max(c["patch_pixels"], 1)
        if self.sums:
            out["velocity_rmse_in_patches_mm_yr"] = {
                name: float(np.sqrt(total / max(count, 1)))
                for name, (total, count) in self.sums.items()}
            out["velocity_rmse_in_patches_per_stack"] = self.per_stack
            out["patch_pixels_scored"] = int(next(iter(self.sums.values()))[1])
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
    tally = RepairTally()
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
        tally.add_selection(sim, store, rows["model"][-1])
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
            errors = tally.add_velocities(sim, store, rows["model"][-1], work, {
                "all": np.ones(len(high), bool),
                "model_without_repairs": rows["model_without_repairs"][-1]})
            coherent = np.nan_to_num(sim.coherence).mean(axis=0) > 0.4
            for name in ("all", "model", "truth"):
                rmse[name].append(float(np.sqrt(np.nanmean(errors[name][coherent] ** 2))))
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
    report["small_errors"] = tally.report()
    if not args.no_velocity:
        report["velocity_rmse_mm_yr"] = {k: float(np.mean(v)) for k, v in rmse.items()}
        report["velocity_rmse_per_stack"] = rmse
    # The closure check was developed looking at the test stacks above: its figures are also
    # measured on stacks nobody looked at while developing it.
    fresh = RepairTally()
    for seed in REPAIR_HOLDOUT:
        sim = simulate(stack_config(seed))
        stack = sim.to_stack()
        store = LabelsStore.open(stack, work / f"labels_{seed}.json")
        classify_with_repairs(classifier, stack, store, threshold)
        keep = np.array(store.keep_mask())
        fresh.add_selection(sim, store, keep)
        if not args.no_velocity:
            fresh.add_velocities(sim, store, keep, work, {})
    report["small_errors_holdout"] = {"seeds": [REPAIR_HOLDOUT.start, REPAIR_HOLDOUT.stop - 1],
                                      **fresh.report()}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
