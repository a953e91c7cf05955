"""Fit the network-evidence model (``core/evidence.py``) and write it into a model's card.

The CNN's probabilities and the network's evidence are measured through the plugin's own path
(``Classifier.classify``) on *calibration* stacks: simulated stacks the CNN never saw (neither
in training nor in choosing its checkpoint). The noisy-OR's parameters are fitted there by
maximum likelihood; its threshold is chosen on the validation stacks (with the real Mexico City
stack) as the one that maximises the worst of "high-quality pairs kept" and "low-quality pairs
caught" for each cause. The test stacks are not touched: ``make evaluate`` scores the result.

Usage: ``python models/fit_evidence.py models/sbas_selector.onnx --out models/sbas_selector.onnx``
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dataset import SPLITS, SPLITS_AFTER_TRAINING, stack_config
from evaluate import scores

from sbas_selector.core import open_stack
from sbas_selector.core.classify import Classifier
from sbas_selector.core.evidence import FEATURES, EvidenceModel, noisy_or
from sbas_selector.core.simulation import simulate

ROOT = Path(__file__).resolve().parent.parent
NETWORK_FEATURES = FEATURES
IMAGE_FEATURES = ("image_logit", "low_coherence")
#: Slopes start with their physical sign: a confident CNN is a reason for high, every other
#: feature grows with trouble.
SIGN = {"image_logit": -1.0}


def measure(classifier: Classifier, seeds, real_stack: Path | None) -> dict[str, np.ndarray]:
    """Features, truth and causes of every pair of the given simulated stacks (+ real)."""
    rows: dict[str, list] = {"features": [], "high": [], "causes": [], "stack": []}
    stacks = [(f"sim{s}", simulate(stack_config(s))) for s in seeds]
    for name, sim in stacks:
        add(rows, name, classifier, sim.to_stack(), [t.label == "high" for t in sim.truth],
            [";".join(t.causes) for t in sim.truth])
    if real_stack is not None:
        stack = open_stack(real_stack)
        add(rows, "real_mexico_city", classifier, stack, [True] * stack.n_pairs,
            [""] * stack.n_pairs)
    return {k: np.array(v) if k != "features" else np.vstack(v) for k, v in rows.items()}


def add(rows: dict, name: str, classifier: Classifier, stack, high, causes) -> None:
    result = classifier.classify(stack, evidence=True)
    image = np.array([result.image_probabilities[p] for p in stack.pair_ids])
    rows["features"].append(result.network_evidence.features(image))
    rows["high"] += list(high)
    rows["causes"] += list(causes)
    rows["stack"] += [name] * stack.n_pairs
    print(f"  {name}: {stack.n_pairs} pairs", file=sys.stderr)


def fit(features: np.ndarray, high: np.ndarray, names: tuple[str, ...],
        l2: float = 1e-4) -> dict:
    """Maximum-likelihood noisy-OR over the named features (rows with all of them finite)."""
    columns = [FEATURES.index(n) for n in names]
    x = features[:, columns]
    rows = np.isfinite(x).all(axis=1)
    x, y = x[rows], high[rows].astype(float)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / std
    k = len(names)

    def loss(w: np.ndarray) -> float:
        log_high = -np.logaddexp(0.0, z * w[:k] + w[k:]).sum(axis=1)
        log_low = np.log(-np.expm1(np.minimum(log_high, -1e-12)))
        return float(-(y * log_high + (1 - y) * log_low).mean() + l2 * np.sum(w ** 2))

    start = np.concatenate([[2.0 * SIGN.get(n, 1.0) for n in names], -3.0 * np.ones(k)])
    w = minimize(loss, start, method="L-BFGS-B").x
    return {"features": list(names), "mean": mean.round(6).tolist(),
            "std": std.round(6).tolist(), "slope": w[:k].round(6).tolist(),
            "bias": w[k:].round(6).tolist(), "fitted_pairs": int(rows.sum())}


def probability(model: dict, features: np.ndarray) -> np.ndarray:
    return EvidenceModel.from_card(model).probability_high(features)


def network_only_probability(features: np.ndarray, params: dict) -> np.ndarray:
    """The ablation's P(high): the noisy-OR without the CNN; a pair without network evidence
    has nothing to go on and is kept (also used by ``evaluate.py``)."""
    p = noisy_or(features, params)
    p[~np.isfinite(features[:, FEATURES.index("ramp")])] = 1.0
    return p


def figures(keep: np.ndarray, data: dict) -> dict:
    """``evaluate.scores`` plus, where the real stack is among the rows, how many it kept."""
    out = scores(keep, data["high"], list(data["causes"]))
    real = data["stack"] == "real_mexico_city"
    if real.any():
        out["real_kept"] = int(keep[real].sum())
    return out


def worst(f: dict) -> float:
    return min(v for k, v in f.items() if k == "high_kept" or k.startswith("caught_"))


def choose_threshold(p: np.ndarray, validation: dict) -> float:
    """The threshold that maximises the worst of high kept and each cause caught (ties: the
    one nearest 0.5)."""
    candidates = np.round(np.linspace(0.05, 0.95, 91), 3)
    scored = [(worst(figures(p >= t, validation)), -abs(t - 0.5), t) for t in candidates]
    return float(max(scored)[2])


def without_cnn(calibration: dict, validation: dict) -> dict:
    """The ablation: the same noisy-OR without the CNN's logit (what the ResNet adds)."""
    names = tuple(n for n in NETWORK_FEATURES if n != "image_logit")
    params = fit(calibration["features"], calibration["high"], names)
    p = network_only_probability(validation["features"], params)
    threshold = choose_threshold(p, validation)
    return {"threshold": threshold, "params": params, **figures(p >= threshold, validation)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--real-stack", type=Path,
                        default=Path("../shared/data/real/mexico_city_cropA"))
    parser.add_argument("--record", type=Path, default=ROOT / "models" / "runs" / "evidence")
    args = parser.parse_args()
    import onnx

    classifier = Classifier(args.model, device="cpu")
    print("calibration stacks", file=sys.stderr)
    calibration = measure(classifier, SPLITS_AFTER_TRAINING["calibration"], None)
    print("validation stacks", file=sys.stderr)
    validation = measure(classifier, SPLITS["val"], args.real_stack)
    model = {"network": fit(calibration["features"], calibration["high"], NETWORK_FEATURES),
             "image": fit(calibration["features"], calibration["high"], IMAGE_FEATURES)}
    p_val = probability(model, validation["features"])
    threshold = choose_threshold(p_val, validation)
    seeds = SPLITS_AFTER_TRAINING["calibration"]
    model["calibration"] = {"stacks": f"simulated seeds {seeds.start}-{seeds.stop - 1}",
                            "pairs": len(calibration["high"]),
                            "low_share": round(1 - float(calibration["high"].mean()), 3)}
    model["validation"] = figures(p_val >= threshold, validation)
    image_threshold = float(classifier.card.extra.get("image_threshold",
                                                      classifier.card.threshold))
    image_p = 1 / (1 + np.exp(-validation["features"][:, FEATURES.index("image_logit")]))
    record = {"threshold": threshold, "model": model,
              "validation_image_only": figures(image_p >= image_threshold, validation),
              "calibration_fit": figures(probability(model, calibration["features"])
                                         >= threshold, calibration),
              "validation_network_without_cnn": without_cnn(calibration, validation)}
    args.record.mkdir(parents=True, exist_ok=True)
    (args.record / "fit.json").write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))

    onnx_model = onnx.load(str(args.model))
    card = {p.key: p.value for p in onnx_model.metadata_props}
    base_version = json.loads(card["version"]).split("+")[0]
    updates = {"evidence_model": model, "threshold": threshold,
               "image_threshold": json.loads(card.get("image_threshold",
                                                      card["threshold"])),
               "version": f"{base_version}+evidence"}
    card.update({k: json.dumps(v) for k, v in updates.items()})
    del onnx_model.metadata_props[:]
    for key, value in card.items():
        onnx_model.metadata_props.add(key=key, value=value)
    onnx.save(onnx_model, str(args.out))
    print(f"wrote {args.out}: threshold {threshold} (validation)", file=sys.stderr)


if __name__ == "__main__":
    main()
