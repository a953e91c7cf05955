"""Interferogram classification with the exported ONNX model, run by onnxruntime.

onnxruntime is imported lazily (the plugin loads without it and says what to install). The
session is created once, with CUDA first when available; the provider actually running is
reported, and why CUDA is not used when it was wanted. Preprocessing is driven by the model's
card (``metadata_props``: JSON values).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess  # nosec B404: only nvidia-smi, with fixed arguments
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .cores import usable_cores
from .errors import ClassifierError, StackError
from .evidence import EvidenceCollector, EvidenceModel, NetworkEvidence
from .preprocess import MIN_VALID_SHARE, PREPROCESSING_ID, preprocess_pair, valid_share
from .stack import Stack

INSTALL_HINT = ("onnxruntime is not installed in this Python: install onnxruntime-gpu "
                "(CUDA where a driver is present, CPU otherwise), e.g. "
                "'python -m pip install --user onnxruntime-gpu'")
REQUIRED_CARD_KEYS = ("name", "version", "input_size", "channels", "preprocessing",
                      "class_names", "normalisation", "threshold")
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "sbas_selector.onnx"


class ClassificationCancelledError(Exception):
    """The user cancelled; nothing was written."""


@dataclass(frozen=True)
class ModelCard:
    """What the model's ``metadata_props`` say about it."""

    name: str
    version: str
    input_size: int
    channels: tuple[str, ...]
    preprocessing: str
    class_names: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    threshold: float
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, path: Path, metadata: dict[str, str]) -> ModelCard:
        try:
            values = {key: json.loads(value) for key, value in metadata.items()}
        except ValueError as exc:
            raise ClassifierError(f"{path}: model card is not JSON ({exc})") from exc
        missing = [k for k in REQUIRED_CARD_KEYS if k not in values]
        if missing:
            raise ClassifierError(f"{path}: model card lacks {', '.join(missing)}")
        if values["preprocessing"] != PREPROCESSING_ID:
            raise ClassifierError(f"{path}: model expects preprocessing "
                                  f"{values['preprocessing']!r}; this plugin provides "
                                  f"{PREPROCESSING_ID!r}")
        names = tuple(values["class_names"])
        if "high" not in names:
            raise ClassifierError(f"{path}: class names {names} have no 'high'")
        return cls(
            name=str(values["name"]), version=str(values["version"]),
            input_size=int(values["input_size"]), channels=tuple(values["channels"]),
            preprocessing=str(values["preprocessing"]), class_names=names,
            mean=tuple(float(v) for v in values["normalisation"]["mean"]),
            std=tuple(float(v) for v in values["normalisation"]["std"]),
            threshold=float(values["threshold"]),
            extra={k: v for k, v in values.items() if k not in REQUIRED_CARD_KEYS})


def import_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise ClassifierError(INSTALL_HINT) from exc
    return onnxruntime


def nvidia_driver_present() -> bool:
    """Whether an NVIDIA driver is loaded (onnxruntime-gpu lists CUDA even without one)."""
    return Path("/proc/driver/nvidia/version").exists() or (
        os.name == "nt" and shutil.which("nvidia-smi") is not None)


def _cuda_choice(available: list[str], device: str) -> tuple[bool, str]:
    """Whether to ask onnxruntime for CUDA, and, where not, why (shared by
    :func:`planned_provider` and :class:`Classifier`). "cuda" asks for it even without a
    detected driver; "auto" only with one."""
    if device == "cpu":
        return False, "CPU requested"
    if "CUDAExecutionProvider" not in available:
        return False, "this onnxruntime has no CUDA provider (install onnxruntime-gpu)"
    if device == "auto" and not nvidia_driver_present():
        return False, "no NVIDIA driver found"
    return True, ""


def planned_provider(device: str = "auto") -> str:
    """Where inference will run and why, said before any model is loaded (the dock shows it
    from the start; :class:`Classifier` confirms it once its session exists)."""
    try:
        ort = import_onnxruntime()
    except ClassifierError:
        return ("not available: onnxruntime is not installed in QGIS's Python "
                "(Plugins > SBAS Selector > Check Python dependencies)")
    want_cuda, reason = _cuda_choice(ort.get_available_providers(), device)
    if want_cuda and nvidia_driver_present():
        return "CUDA (NVIDIA driver found; confirmed when the model loads)"
    return f"CPU: {reason or 'no NVIDIA driver found'}" + (
        " (CUDA was asked for)" if device == "cuda" else "")


def _gpu_name() -> str:
    nvidia_smi = shutil.which("nvidia-smi")
    if nvidia_smi:
        try:
            out = subprocess.run(  # nosec B603: a fixed argument list, no shell
                [nvidia_smi, "--query-gpu=name", "--format=csv,noheader"],
                capture_output=True, text=True, timeout=5)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip().splitlines()[0]
        except (OSError, subprocess.SubprocessError):
            pass
    return "GPU 0"


@dataclass(frozen=True)
class ClassificationResult:
    """Probability of high quality per pair id; pairs without data (labelled low).

    ``probabilities`` are the final ones (the CNN combined with the network's evidence where
    the model carries an evidence model); ``image_probabilities`` are the CNN's alone;
    ``evidence`` says per pair what the network measured (empty without evidence).
    """

    probabilities: dict[str, float]
    no_data: tuple[str, ...]
    provider: str
    model: dict[str, Any]
    image_probabilities: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, str] = field(default_factory=dict)
    network_evidence: NetworkEvidence | None = None


class Classifier:
    """One onnxruntime session for one model, reused for every batch.

    Parameters
    ----------
    model_path
        The ``.onnx`` file (default: the shipped model).
    device
        "auto" (CUDA when it loads, else CPU), "cuda" or "cpu".
    threads
        CPU threads for onnxruntime (default: up to 2; a busy machine slows down badly with
        more threads than free cores).
    """

    def __init__(self, model_path: str | Path | None = None, device: str = "auto",
                 threads: int | None = None) -> None:
        if device not in ("auto", "cuda", "cpu"):
            raise ValueError(f"device must be auto, cuda or cpu, not {device!r}")
        self.path = Path(model_path) if model_path else DEFAULT_MODEL
        if not self.path.is_file():
            raise ClassifierError(f"{self.path}: model file not found")
        ort = import_onnxruntime()
        ort.set_default_logger_severity(3)  # a failed CUDA load is reported below, not logged
        want_cuda, reason = _cuda_choice(ort.get_available_providers(), device)
        wanted = (["CUDAExecutionProvider"] if want_cuda else []) + ["CPUExecutionProvider"]
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(2, usable_cores())
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # CUDA's absence is reported below, not as an error log
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=options,
                                                providers=wanted)
        except Exception as exc:  # onnxruntime raises its own exception types
            if "CUDAExecutionProvider" in wanted:
                reason = f"CUDA failed to start ({str(exc).splitlines()[0]})"
                self.session = self._cpu_session(ort, options, reason)
            else:
                raise ClassifierError(f"{self.path}: not a usable ONNX model "
                                      f"({str(exc).splitlines()[0]})") from exc
        running = self.session.get_providers()
        if running and running[0] == "CUDAExecutionProvider":
            self.provider = f"CUDA: {_gpu_name()}"
        else:
            if "CUDAExecutionProvider" in wanted and not reason:
                reason = "the CUDA provider did not load (no usable CUDA driver or libraries)"
            self.provider = f"CPU: {reason or 'CPU only'}"
        if device == "cuda" and not self.provider.startswith("CUDA"):
            self.provider += " (CUDA was asked for)"
        meta = self.session.get_modelmeta().custom_metadata_map
        self.card = ModelCard.from_metadata(self.path, meta)
        self.input_name = self.session.get_inputs()[0].name
        shape = self.session.get_inputs()[0].shape
        expected = [len(self.card.channels), self.card.input_size, self.card.input_size]
        if [d if isinstance(d, int) else -1 for d in shape[1:]] != expected:
            raise ClassifierError(f"{self.path}: input shape {shape} does not match the card "
                                  f"(channels {len(self.card.channels)}, size "
                                  f"{self.card.input_size})")
        self.high_index = self.card.class_names.index("high")
        self.evidence_model: EvidenceModel | None = None
        if "evidence_model" in self.card.extra:
            try:
                self.evidence_model = EvidenceModel.from_card(self.card.extra["evidence_model"])
            except ValueError as exc:
                raise ClassifierError(f"{self.path}: {exc}") from exc

    def _cpu_session(self, ort: Any, options: Any, reason: str) -> Any:
        try:
            return ort.InferenceSession(str(self.path), sess_options=options,
                                        providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ClassifierError(f"{self.path}: not a usable ONNX model "
                                  f"({str(exc).splitlines()[0]}); {reason}") from exc

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probability of high quality, shape (n,), for inputs of shape (n, C, H, W)."""
        mean = np.array(self.card.mean, np.float32)[None, :, None, None]
        std = np.array(self.card.std, np.float32)[None, :, None, None]
        logits = self.session.run(None, {self.input_name: ((batch - mean) / std)
                                         .astype(np.float32)})[0]
        logits = logits - logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return probabilities[:, self.high_index]

    def classify(self, stack: Stack, *, batch_size: int = 16,
                 progress: Callable[[int, int], None] | None = None,
                 cancelled: Callable[[], bool] | None = None,
                 evidence: bool | None = None) -> ClassificationResult:
        """Score every pair of a stack (read, preprocess, infer in batches), then weigh in
        what the rest of the network says about each pair (:mod:`.evidence`).

        Parameters
        ----------
        evidence
            Measure the network's evidence (default: when the model carries an evidence
            model, which then gives the final probabilities).
        """
        measure = self.evidence_model is not None if evidence is None else evidence
        collector = EvidenceCollector(stack.n_pairs) if measure else None
        probabilities: dict[str, float] = {}
        no_data: list[str] = []
        pending: list[tuple[str, np.ndarray]] = []

        def flush() -> None:
            if pending:
                scores = self.predict(np.stack([x for _, x in pending]))
                probabilities.update({pid: float(s) for (pid, _), s in zip(pending, scores)})
                pending.clear()

        for i, pair in enumerate(stack.pairs):
            if cancelled is not None and cancelled():
                raise ClassificationCancelledError
            try:
                phase = stack.read_phase(i, referenced=False)
                coherence = stack.read_coherence(i)
            except StackError:
                phase, coherence = np.full((1, 1), np.nan), None
            if valid_share(phase) < MIN_VALID_SHARE:
                no_data.append(pair.pair_id)
                probabilities[pair.pair_id] = 0.0
            else:
                pending.append((pair.pair_id, preprocess_pair(phase, coherence,
                                                              self.card.input_size)))
                if collector is not None:
                    collector.add(i, phase, coherence)
            if len(pending) >= batch_size:
                flush()
            if progress is not None:
                progress(i + 1, stack.n_pairs)
        flush()
        if cancelled is not None and cancelled():
            raise ClassificationCancelledError
        model = {"name": self.card.name, "version": self.card.version,
                 "file": self.path.name, "sha256": file_hash(self.path),
                 "threshold": self.card.threshold,
                 "evidence": self.evidence_model is not None}
        image = dict(probabilities)
        if collector is None:
            return ClassificationResult(probabilities, tuple(no_data), self.provider, model,
                                        image)
        ids = stack.pair_ids
        image_array = np.array([image[p] for p in ids])
        measured = collector.evidence([(p.date1, p.date2) for p in stack.pairs], image_array,
                                      stack.wavelength_m)
        if self.evidence_model is not None:
            final = self.evidence_model.probability_high(measured.features(image_array))
            probabilities = {p: (0.0 if p in no_data else float(v)) for p, v in zip(ids, final)}
        words = {p: measured.describe(i) for i, p in enumerate(ids) if p not in no_data}
        return ClassificationResult(probabilities, tuple(no_data), self.provider, model,
                                    image, words, measured)


def file_hash(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]
