"""Size/precision variants of the exported model, measured against fp32 on the test stacks.

- fp32: as exported (~94 MB for ResNet50: over the 60 MB the plugin may ship);
- fp16 weights: every float initializer stored as float16 and cast back to float32 in the
  graph, so any provider (CPU or CUDA) computes in float32; half the size;
- int8 static quantization (QDQ), calibrated on validation stacks: a quarter of the size.

Each is scored on the held-out test arrays (accuracy change vs fp32, percentage points) and
timed on the CPU; the smallest one no more than 0.5 pp less accurate than fp32 is copied to
models/sbas_selector.onnx (a variant that is more accurate is not refused for differing), and
its threshold is tuned on the validation stacks. Whether it then replaces the shipped model is
decided by ``make evaluate`` against the incumbent's ``evaluation.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent


def fp16_weights(source: Path, target: Path) -> Path:
    model = onnx.load(str(source))
    graph = model.graph
    new_initializers, casts = [], []
    for tensor in graph.initializer:
        array = numpy_helper.to_array(tensor)
        if array.dtype == np.float32 and array.size > 16:
            half = numpy_helper.from_array(array.astype(np.float16), f"{tensor.name}__fp16")
            new_initializers.append(half)
            casts.append(helper.make_node("Cast", [half.name], [tensor.name],
                                          to=onnx.TensorProto.FLOAT,
                                          name=f"{tensor.name}__cast"))
        else:
            new_initializers.append(tensor)
    del graph.initializer[:]
    graph.initializer.extend(new_initializers)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.save(model, str(target))
    return target


def int8_static(source: Path, target: Path, calibration: np.ndarray) -> Path:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"input": calibration[i:i + 16]}
                                 for i in range(0, len(calibration), 16)])

        def get_next(self):
            return next(self.batches, None)

    prepared = target.with_suffix(".pre.onnx")
    quant_pre_process(str(source), str(prepared))
    quantize_static(str(prepared), str(target), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    per_channel=True)
    prepared.unlink(missing_ok=True)
    # quantize_static keeps metadata_props only sometimes: copy the card across.
    card = onnx.load(str(source)).metadata_props
    quantized = onnx.load(str(target))
    del quantized.metadata_props[:]
    quantized.metadata_props.extend(card)
    onnx.save(quantized, str(target))
    return target


def score(path: Path, x: np.ndarray, y: np.ndarray) -> dict:
    from sbas_selector.core.classify import Classifier

    classifier = Classifier(path, device="cpu", threads=2)
    started = time.perf_counter()
    p = np.concatenate([classifier.predict(x[i:i + 32]) for i in range(0, len(x), 32)])
    seconds = time.perf_counter() - started
    keep = p >= classifier.card.threshold
    return {"accuracy": float((keep == (y == 1)).mean()),
            "high_kept": float(keep[y == 1].mean()), "low_caught": float((~keep[y == 0]).mean()),
            "cpu_images_per_s": round(len(x) / seconds, 1),
            "size_mb": round(path.stat().st_size / 2**20, 1), "probabilities": p}


def tune_threshold(path: Path, x: np.ndarray, y: np.ndarray) -> float:
    """The threshold with the best balanced accuracy on the validation stacks (never the test
    stacks), written into the model's card."""
    from sbas_selector.core.classify import Classifier

    classifier = Classifier(path, device="cpu", threads=2)
    p = np.concatenate([classifier.predict(x[i:i + 32]) for i in range(0, len(x), 32)])
    candidates = np.linspace(0.05, 0.95, 91)
    balanced = [((p[y == 1] >= t).mean() + (p[y == 0] < t).mean()) / 2 for t in candidates]
    threshold = float(candidates[int(np.argmax(balanced))])
    model = onnx.load(str(path))
    for entry in model.metadata_props:
        if entry.key == "threshold":
            entry.value = json.dumps(round(threshold, 3))
    onnx.save(model, str(path))
    return round(threshold, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fp32", type=Path)
    parser.add_argument("--data", type=Path, default=ROOT / "models" / "data")
    parser.add_argument("--ship", type=Path, default=ROOT / "models" / "sbas_selector.onnx")
    parser.add_argument("--max-mb", type=float, default=60.0)
    args = parser.parse_args()
    test = np.load(args.data / "test.npz")
    val = np.load(args.data / "val.npz")
    x, y = test["x"].astype(np.float32), test["y"]
    folder = args.fp32.parent
    variants = {
        "fp32": args.fp32,
        "fp16_weights": fp16_weights(args.fp32, folder / "model_fp16w.onnx"),
        "int8_static": int8_static(args.fp32, folder / "model_int8.onnx",
                                   val["x"][::4].astype(np.float32)),
    }
    results = {name: score(path, x, y) for name, path in variants.items()}
    reference = results["fp32"]
    for result in results.values():
        result["accuracy_change_pp"] = round(100 * (result["accuracy"]
                                                    - reference["accuracy"]), 2)
        result["max_probability_change"] = float(np.abs(result["probabilities"]
                                                        - reference["probabilities"]).max())
    eligible = [n for n, r in results.items()
                if r["size_mb"] <= args.max_mb and r["accuracy_change_pp"] >= -0.5]
    choice = min(eligible, key=lambda n: results[n]["size_mb"]) if eligible else None
    report = {n: {k: v for k, v in r.items() if k != "probabilities"}
              for n, r in results.items()}
    report["chosen"] = choice
    (folder / "variants.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    if choice:
        shutil.copy(variants[choice], args.ship)
        threshold = tune_threshold(args.ship, val["x"].astype(np.float32), val["y"])
        report["threshold_from_validation"] = threshold
        (folder / "variants.json").write_text(json.dumps(report, indent=2))
        print(f"shipped {choice} as {args.ship}, threshold {threshold:.3f} (validation)")


if __name__ == "__main__":
    main()
