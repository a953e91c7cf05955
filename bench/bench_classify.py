"""End-to-end classification speed (``make bench-classify``): read each pair from a HyP3
folder, preprocess, infer with onnxruntime; interferograms per second on this machine's CPU
(and on CUDA where onnxruntime has it), with the network's evidence (what a user gets) and
without it (the CNN alone, the peer run alternately in the same process), and the per-pixel
closure check that precedes classification (``core/closure.py``; its target: no slower than
classifying the same stack). Not a test: the machine is shared; quote medians and ratios."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

from sbas_selector.core import open_stack
from sbas_selector.core.classify import Classifier
from sbas_selector.core.closure import check_closure

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "sbas_selector.onnx")
    parser.add_argument("--data", type=Path, default=ROOT / "bench_data")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    hyp3 = args.data / "sim_40x256" / "hyp3"
    if not hyp3.is_dir():
        subprocess.run([str(ROOT / ".venv/bin/sbas-selector"), "simulate", "--out",
                        str(hyp3.parent), "--seed", "5", "--dates", "40", "--size", "256x256",
                        "--format", "hyp3"], check=True)
    results = []
    for device in ("cpu", "cuda"):
        classifier = Classifier(args.model, device=device, threads=args.threads)
        if device == "cuda" and not classifier.provider.startswith("CUDA"):
            results.append({"device": "cuda", "provider": classifier.provider,
                            "note": "no CUDA here: not measured"})
            continue
        rates: dict[bool, list[float]] = {True: [], False: []}
        closure_rates: list[float] = []
        for _ in range(args.repeats):
            for evidence in (True, False):
                stack = open_stack(hyp3)  # opening is part of end to end
                started = time.perf_counter()
                classifier.classify(stack, batch_size=32, evidence=evidence)
                rates[evidence].append(stack.n_pairs / (time.perf_counter() - started))
            if device == "cpu":
                stack = open_stack(hyp3)
                started = time.perf_counter()
                check_closure(stack)
                closure_rates.append(stack.n_pairs / (time.perf_counter() - started))
        full, alone = (statistics.median(rates[k]) for k in (True, False))
        if closure_rates:
            closure = statistics.median(closure_rates)
            results.append({"step": "closure check", "pairs": stack.n_pairs,
                            "median_pairs_per_s": round(closure, 1),
                            "runs": [round(r, 1) for r in closure_rates],
                            "closure_cost_over_classify": round(full / closure, 3)})
        results.append({"device": device, "provider": classifier.provider,
                        "pairs": stack.n_pairs, "size_px": "256x256",
                        "input_px": classifier.card.input_size,
                        "median_pairs_per_s": round(full, 1),
                        "runs": [round(r, 1) for r in rates[True]],
                        "cnn_alone_median_pairs_per_s": round(alone, 1),
                        "cnn_alone_runs": [round(r, 1) for r in rates[False]],
                        "evidence_cost_ratio": round(alone / full, 3)})
    for row in results:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
