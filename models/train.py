"""Train the ResNet50 interferogram classifier on simulated stacks and export it to ONNX.

One script, seeded; the CPU recipe (96 px, ~35 min on 2 cores) and a GPU recipe (same
script, bigger input and more epochs) differ only in their options. Torch is needed here
only: the plugin runs the exported ONNX with onnxruntime.

    python models/train.py --data models/data --size 96 --epochs 15 --out models/runs/cpu
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch
import torchvision

from sbas_selector.core.preprocess import CHANNELS, PREPROCESSING_ID

CLASS_NAMES = ("low", "high")


def load(path: Path) -> dict:
    data = np.load(path)
    return {k: data[k] for k in data.files}


def augment(x: torch.Tensor) -> torch.Tensor:
    """Flips, 90-degree rotations, and the sign of the phase (uplift vs subsidence): all leave
    a pair's quality unchanged."""
    if torch.rand(1) < 0.5:
        x = x.flip(-1)
    if torch.rand(1) < 0.5:
        x = x.flip(-2)
    x = torch.rot90(x, int(torch.randint(0, 4, (1,))), dims=(-2, -1))
    sign = torch.where(torch.rand(x.shape[0], 1, 1) < 0.5, -1.0, 1.0)
    x = x.clone()
    x[:, 0] = x[:, 0] * sign
    return x


def evaluate(model: torch.nn.Module, x: np.ndarray, y: np.ndarray,
             batch: int = 128) -> dict:
    model.eval()
    probabilities = []
    with torch.no_grad():
        for start in range(0, len(x), batch):
            logits = model(torch.from_numpy(x[start:start + batch].astype(np.float32)))
            probabilities.append(torch.softmax(logits, 1)[:, 1].numpy())
    p = np.concatenate(probabilities) if probabilities else np.zeros(0)
    predicted = p >= 0.5
    high, low = y == 1, y == 0
    kept = float(predicted[high].mean()) if high.any() else float("nan")
    caught = float((~predicted[low]).mean()) if low.any() else float("nan")
    return {"high_kept": kept, "low_caught": caught,
            "balanced_accuracy": (kept + caught) / 2, "probabilities": p}


def export_onnx(model: torch.nn.Module, size: int, out: Path, card: dict) -> Path:
    import onnx

    model.eval()
    dummy = torch.zeros(1, len(CHANNELS), size, size)
    torch.onnx.export(model, dummy, str(out), input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      opset_version=17, dynamo=False)
    proto = onnx.load(str(out))
    del proto.metadata_props[:]
    for key, value in card.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.save(proto, str(out))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("models/data"))
    parser.add_argument("--out", type=Path, default=Path("models/runs/cpu"))
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--build-data", action="store_true",
                        help="simulate the stacks first (models/dataset.py)")
    parser.add_argument("--representation", choices=("unw", "rgb"), default="unw",
                        help="unw: the plugin's input; rgb: the paper's re-wrapped colour "
                             "image (for comparison only: the plugin cannot run it)")
    parser.add_argument("--real-stack", type=Path,
                        default=Path("../shared/data/real/mexico_city_cropA"))
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.build_data or not (args.data / "train.npz").exists():
        from dataset import build

        print(json.dumps(build(args.data, args.size, args.real_stack, args.representation),
                         indent=1), flush=True)
    train, val = load(args.data / "train.npz"), load(args.data / "val.npz")
    if train["x"].shape[-1] != args.size:
        raise SystemExit(f"data are {train['x'].shape[-1]} px; rebuild with --build-data")
    config = {k: str(v) for k, v in sorted(vars(args).items())}
    config_hash = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
    args.out.mkdir(parents=True, exist_ok=True)

    model = torchvision.models.resnet50(weights=None, num_classes=2).to(device)
    x_train = torch.from_numpy(train["x"].astype(np.float32))
    y_train = torch.from_numpy(train["y"].astype(np.int64))
    counts = np.bincount(train["y"], minlength=2)
    class_weights = torch.tensor(len(train["y"]) / (2.0 * counts), dtype=torch.float32)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * int(np.ceil(len(y_train) / args.batch))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr,
                                                   total_steps=steps, pct_start=0.15)
    loss_fn = torch.nn.CrossEntropyLoss(weight=class_weights.to(device))
    best, log = -1.0, open(args.out / "log.jsonl", "w")
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(y_train))
        started, total = time.time(), 0.0
        for start in range(0, len(order), args.batch):
            index = order[start:start + args.batch]
            x = augment(x_train[index]).to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(x), y_train[index].to(device))
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss) * len(index)
        metrics = evaluate(model.cpu(), val["x"], val["y"])
        model.to(device)
        real = val["stacks"] == "real_mexico_city"
        real_kept = int((metrics["probabilities"][real] >= 0.5).sum())
        entry = {"epoch": epoch + 1, "loss": total / len(order),
                 "val_high_kept": metrics["high_kept"], "val_low_caught": metrics["low_caught"],
                 "val_balanced_accuracy": metrics["balanced_accuracy"],
                 "real_kept": real_kept, "seconds": round(time.time() - started, 1)}
        log.write(json.dumps(entry) + "\n")
        log.flush()
        print(json.dumps(entry), flush=True)
        if metrics["balanced_accuracy"] > best:
            best = metrics["balanced_accuracy"]
            torch.save(model.state_dict(), args.out / "best.pt")
    model.load_state_dict(torch.load(args.out / "best.pt"))
    test = load(args.data / "test.npz")
    result = evaluate(model.cpu(), test["x"], test["y"])
    keep = result.pop("probabilities") >= 0.5
    for cause in ("unwrapping_error", "decorrelation", "strong_atmosphere", "orbital_ramp"):
        mask = np.array([cause in c for c in test["causes"]])
        result[f"caught_{cause}"] = float((~keep[mask]).mean()) if mask.any() else None
    real = val["stacks"] == "real_mexico_city"
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(val["x"][real].astype(np.float32)))
    result["real_kept"] = int((torch.softmax(logits, 1)[:, 1] >= 0.5).sum())
    (args.out / "test_metrics.json").write_text(json.dumps(result, indent=2))
    print(json.dumps({"test": result}), flush=True)
    if args.representation != "unw":
        return
    summary = json.loads((args.data / "summary.json").read_text())
    card = {
        "name": "sbas-selector-resnet50",
        "version": f"0.1.0-{config_hash[:8]}",
        "architecture": "torchvision ResNet50, trained from scratch",
        "input_size": args.size,
        "channels": list(CHANNELS),
        "preprocessing": PREPROCESSING_ID,
        "normalisation": {"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]},
        "class_names": list(CLASS_NAMES),
        "threshold": 0.5,
        "training_data": summary,
        "validation": {"balanced_accuracy": best},
        "config": config,
        "config_hash": config_hash,
    }
    path = export_onnx(model.cpu(), args.size, args.out / "model_fp32.onnx", card)
    print(f"exported {path}", flush=True)


if __name__ == "__main__":
    main()
