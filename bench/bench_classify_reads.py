"""Would the classifier gain from reading its pairs on Dask? (not a test; docs/scale.md)

On a simulated HyP3 stack, times: the whole ``Classifier.classify`` (read, preprocess, infer,
evidence) on the CPU; its reads and preprocessing alone, here in turn; and the same reads and
preprocessing on a local Dask cluster of two worker processes (cluster start excluded), each
pair's network input coming back to the client.

    .venv/bin/python bench/bench_classify_reads.py [--stack bench_data/sim_40x256/hyp3]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def read_and_preprocess(stack, index: int, size: int) -> np.ndarray:
    """One pair's network input, as the classifier makes it."""
    from sbas_selector.core.preprocess import preprocess_pair

    return preprocess_pair(stack.read_phase(index, referenced=False),
                           stack.read_coherence(index), size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", type=Path, default=ROOT / "bench_data/sim_40x256/hyp3")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from sbas_selector.core import open_stack
    from sbas_selector.core.classify import Classifier
    from sbas_selector.core.inversion.distributed import dask_cluster

    stack = open_stack(args.stack)
    classifier = Classifier(device="cpu")
    size = classifier.card.input_size
    start = time.perf_counter()
    classifier.classify(stack)
    classify_s = time.perf_counter() - start
    start = time.perf_counter()
    here = [read_and_preprocess(stack, i, size) for i in range(stack.n_pairs)]
    reads_s = time.perf_counter() - start
    with dask_cluster(args.workers, memory_gb=2.0 * args.workers) as cluster:
        client = cluster.client
        remote = client.scatter(stack, broadcast=True)
        client.gather(client.map(read_and_preprocess, [remote] * 2, [0, 1], size=size))  # warm
        start = time.perf_counter()
        there = client.gather(client.map(read_and_preprocess, [remote] * stack.n_pairs,
                                         range(stack.n_pairs), size=size, pure=False))
        dask_s = time.perf_counter() - start
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(here, there))
    report = {"stack": str(args.stack), "n_pairs": stack.n_pairs,
              "classify_s": round(classify_s, 2), "reads_and_preprocess_here_s": round(reads_s, 2),
              "reads_and_preprocess_dask_s": round(dask_s, 2), "dask_workers": args.workers,
              "share_of_classify": round(reads_s / classify_s, 3)}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
