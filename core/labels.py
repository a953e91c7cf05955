"""The labels store: per pair the model's probability, its predicted label, the user's
override, the final label and its source; one JSON sidecar per stack, written atomically.

The file is strict JSON and is checked key by key (:func:`_pair_from_json`): a file that
fails to parse or holds an ill-formed value is never overwritten: it is moved aside under a
name no other file has (``.unreadable-<time>[-n]``) and the caller is told. A file written for
another stack is refused with the difference named. Keys this version does not know are
ignored, so a newer file still opens. A write killed half-way leaves a hidden temporary file
(``.<name>.<pid>.tmp``); the next open removes those of processes no longer running.
"""

from __future__ import annotations

import glob
import math
import os
import re
import tempfile
import time
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path

from . import strict_json
from .errors import StackError
from .paths import in_sample_data, is_writable_folder, process_running, user_data_folder
from .repairs import Patch, describe_patches, merged_repairs
from .stack import Stack

SIDECAR_NAME = "sbas_selector_labels.json"
FORMAT_VERSION = 1


class Label(StrEnum):
    HIGH = "high"
    LOW = "low"


class Source(StrEnum):
    """Where a pair's final label comes from."""

    DEFAULT = "default"    # nothing decided: kept
    MODEL = "model"        # the classifier's prediction
    USER = "user"          # the analyst's override
    BASELINE = "baseline"  # pre-selection by temporal / perpendicular baseline
    CONNECTIVITY = "connectivity"  # re-admitted to keep the network connected
    CLOSURE = "closure"    # unwrapping errors too large to repair (triplet closure)
    FILE = "file"          # the stack's own keep/drop state (MintPy dropIfgram)


@dataclass
class PairLabel:
    """One pair's labels."""

    pair_id: str
    probability_high: float | None = None
    evidence: str | None = None
    predicted: Label | None = None
    override: Label | None = None
    readmitted: Label | None = None
    preselected: Label | None = None
    initial: Label | None = None
    closure: str | None = None  # the closure check's verdict (None: not checked)
    closure_share: float | None = None  # share of the pair in error, where dropped for it
    repairs: list[Patch] = field(default_factory=list)

    @property
    def closure_label(self) -> Label | None:
        """Low when the closure check found errors too large to repair."""
        return Label.LOW if self.closure == "dropped" else None

    @property
    def final(self) -> Label:
        for value in (self.override, self.readmitted, self.preselected, self.closure_label,
                      self.predicted, self.initial):
            if value is not None:
                return Label(value)
        return Label.HIGH

    @property
    def final_before_readmission(self) -> Label:
        """The final label as if no pair had been re-admitted to reconnect the network."""
        for value in (self.override, self.preselected, self.closure_label, self.predicted,
                      self.initial):
            if value is not None:
                return Label(value)
        return Label.HIGH

    @property
    def source(self) -> Source:
        if self.override is not None:
            return Source.USER
        if self.readmitted is not None:
            return Source.CONNECTIVITY
        if self.preselected is not None:
            return Source.BASELINE
        if self.closure_label is not None:
            return Source.CLOSURE
        if self.predicted is not None:
            return Source.MODEL
        if self.initial is not None:
            return Source.FILE
        return Source.DEFAULT

    @property
    def repair_text(self) -> str:
        """The closure check's word on the pair ("" when clean or not checked)."""
        if self.closure == "dropped":
            share = f"{self.closure_share:.1%}" if self.closure_share is not None else "a share"
            return f"unwrapping errors over {share} of the pair or more: too large to repair"
        if self.closure == "unchecked":
            return "closure unchecked (in no closed triplet)"
        return describe_patches(self.repairs)

    @property
    def description(self) -> str:
        """Everything known of the pair in words: its repairs, then the network's evidence."""
        return "; ".join(t for t in (self.repair_text, self.evidence or "") if t)

    @property
    def active_repairs(self) -> tuple[Patch, ...]:
        """The patches that change the pair's phase (none for a pair dropped by closure)."""
        if self.closure == "dropped":
            return ()
        return tuple(p for p in self.repairs if p.action != "ignore")


def sidecar_path(stack_path: str | Path) -> Path:
    """Where the labels of a stack live: next to it (``<folder>/sbas_selector_labels.json``,
    or ``<file stem>.sbas_selector_labels.json`` beside a MintPy file)."""
    stack_path = Path(stack_path)
    if stack_path.is_file():
        return stack_path.with_name(f"{stack_path.stem}.{SIDECAR_NAME}")
    return stack_path / SIDECAR_NAME


def fallback_path(stack_path: str | Path) -> Path:
    """Where labels go when the stack's folder is read-only: the user's data folder."""
    return user_data_folder("labels", stack_path).with_suffix(".json")


class LabelsStore:
    """Labels of one stack, saved on every change.

    Use :meth:`open` to create or reload the store of a stack.
    """

    def __init__(self, path: Path, pair_ids: list[str], labels: dict[str, PairLabel],
                 model: dict | None = None, notice: str | None = None) -> None:
        self.path = path
        self.pair_ids = list(pair_ids)
        self.labels = labels
        self.model = dict(model or {})
        self.notice = notice  # something the user should be told (file set aside, fallback)
        # Undo entries: ("override", pair_id, previous label) or ("repairs", pair_id,
        # previous patches).
        self._undo: list[tuple[str, str, object]] = []

    # ---- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, stack: Stack, path: Path | None = None) -> LabelsStore:
        """Load the stack's labels, or start them from the stack's own keep/drop state.

        Raises
        ------
        StackError
            When the file belongs to another stack (its pairs differ); the file is untouched.
        """
        path = path or sidecar_path(stack.path)
        notice = None
        if path is None or not _writable_place(path):
            path = fallback_path(stack.path)
            beside = sidecar_path(stack.path).parent
            why = ("the bundled sample stack stays as shipped" if in_sample_data(beside)
                   else f"{beside} is not writable")
            notice = f"{why}; labels are kept in {path}"
        remove_stale_temporaries(path)
        if path.exists():
            try:
                stored, model = labels_from_json(path.read_bytes())
            except (OSError, ValueError) as exc:
                aside = set_aside(path)
                notice = (f"{path} could not be read ({exc}); it was kept as {aside.name} and "
                          "new labels were started")
            else:
                _check_same_pairs(path, set(stored), set(stack.pair_ids))
                return cls(path, stack.pair_ids, stored, model, notice)
        labels = {}
        for pair_id, keep in zip(stack.pair_ids, stack.keep):
            labels[pair_id] = PairLabel(pair_id, initial=None if keep else Label.LOW)
        store = cls(path, stack.pair_ids, labels, None, notice)
        store.save()
        return store

    # ---- changes (each saved at once) ----------------------------------------------------
    def set_override(self, pair_id: str, label: Label | str | None) -> None:
        """The analyst's decision (None clears it); undoable."""
        entry = self.labels[pair_id]
        self._undo.append(("override", pair_id, entry.override))
        entry.override = None if label is None else Label(label)
        self.save()

    def clear_overrides(self, pair_ids: list[str]) -> None:
        """Clear the analyst's decisions on ``pair_ids``, saved once (not once per pair);
        each is undone on its own, as if cleared one by one."""
        for pair_id in pair_ids:
            entry = self.labels[pair_id]
            self._undo.append(("override", pair_id, entry.override))
            entry.override = None
        if pair_ids:
            self.save()

    def set_repair_action(self, pair_id: str, patch_id: int, action: str) -> Patch:
        """The analyst's decision on one patch ("correct", "mask" or "ignore"); undoable.

        Raises
        ------
        KeyError
            When the pair has no such patch.
        """
        entry = self.labels[pair_id]
        for k, patch in enumerate(entry.repairs):
            if patch.patch_id == patch_id:
                self._undo.append(("repairs", pair_id, list(entry.repairs)))
                entry.repairs[k] = patch.with_action(action, "user")
                self.save()
                return entry.repairs[k]
        raise KeyError(f"{pair_id} has no patch {patch_id}")

    def undo(self) -> str | None:
        """Revert the last override or patch decision; returns the pair it concerned."""
        if not self._undo:
            return None
        kind, pair_id, previous = self._undo.pop()
        if kind == "override":
            self.labels[pair_id].override = previous  # type: ignore[assignment]
        else:
            self.labels[pair_id].repairs = list(previous)  # type: ignore[call-overload]
        self.save()
        return pair_id

    def set_closure(self, check) -> None:
        """Store a :class:`~.closure.ClosureCheck`: each pair's verdict and patches. The
        analyst's decisions on patches found again (same pixels) are kept."""
        merged = merged_repairs({pid: c.patches for pid, c in check.pairs.items()},
                                {pid: e.repairs for pid, e in self.labels.items()})
        for pair_id, result in check.pairs.items():
            entry = self.labels[pair_id]
            patches = merged[pair_id]
            entry.closure = result.verdict
            entry.closure_share = (round(float(result.error_share), 4)
                                   if result.verdict == "dropped" else None)
            entry.repairs = patches
        self.save()

    def active_repairs(self) -> dict[str, tuple[Patch, ...]]:
        """Per pair, the patches that change its phase (for :func:`.repairs.repaired_stack`)."""
        out = {}
        for pair_id, entry in self.labels.items():
            patches = entry.active_repairs
            if patches:
                out[pair_id] = patches
        return out

    def set_predictions(self, probabilities: dict[str, float], threshold: float,
                        model: dict | None = None,
                        evidence: dict[str, str] | None = None) -> None:
        """The classifier's probabilities of high quality and labels at ``threshold``, with
        what the network said of each pair (``evidence``, in words) where measured."""
        for pair_id, probability in probabilities.items():
            entry = self.labels[pair_id]
            entry.probability_high = float(probability)
            entry.evidence = (evidence or {}).get(pair_id)
            entry.predicted = Label.HIGH if probability >= threshold else Label.LOW
        if model is not None:
            self.model = dict(model)
        self.save()

    def set_readmitted(self, pair_ids: list[str]) -> None:
        """Pairs re-admitted to keep the network connected (replaces earlier ones)."""
        for entry in self.labels.values():
            entry.readmitted = None
        for pair_id in pair_ids:
            if self.labels[pair_id].override is Label.LOW:
                raise ValueError(f"{pair_id} was dropped by the analyst: not re-admitted")
            self.labels[pair_id].readmitted = Label.HIGH
        self.save()

    def set_preselection(self, keep: dict[str, bool]) -> None:
        """Baseline pre-selection: pairs outside the thresholds are low (others cleared)."""
        for pair_id, kept in keep.items():
            self.labels[pair_id].preselected = None if kept else Label.LOW
        self.save()

    # ---- reading -------------------------------------------------------------------------
    def final(self, pair_id: str) -> Label:
        return self.labels[pair_id].final

    def keep_mask(self) -> list[bool]:
        """Final label high, in the stack's pair order."""
        return [self.labels[p].final is Label.HIGH for p in self.pair_ids]

    # ---- saving --------------------------------------------------------------------------
    def save(self) -> None:
        """Write the file atomically: a temporary file in the same folder, fsync, rename."""
        data = {
            "format": "sbas_selector labels",
            "version": FORMAT_VERSION,
            "model": self.model,
            "pairs": [_pair_to_json(self.labels[p]) for p in self.pair_ids],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = strict_json.dumps(data, indent=1)
        handle, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.{os.getpid()}.",
                                             suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _writable_place(path: Path) -> bool:
    """Whether the labels may be written here (see :mod:`.paths`)."""
    return is_writable_folder(path.parent) and (not path.exists() or os.access(path, os.W_OK))


def pair_mismatch(found: set[str], expected: set[str]) -> str | None:
    """How a set of pair ids differs from a stack's, in words (None when they are equal)."""
    extra, missing = sorted(found - expected), sorted(expected - found)
    parts = []
    if extra:
        parts.append(f"{len(extra)} pair(s) not in the stack (e.g. {', '.join(extra[:3])})")
    if missing:
        parts.append(f"{len(missing)} of the stack's pairs without a label (e.g. "
                     f"{', '.join(missing[:3])})")
    return "; ".join(parts) or None


def _check_same_pairs(path: Path, stored: set[str], expected: set[str]) -> None:
    difference = pair_mismatch(stored, expected)
    if difference:
        raise StackError(path, f"these labels belong to another stack: {difference}")


def _pair_to_json(entry: PairLabel) -> dict:
    data = {f.name: getattr(entry, f.name) for f in fields(entry)}
    data["repairs"] = [p.to_json() for p in entry.repairs]
    data["final"] = entry.final.value
    data["source"] = entry.source.value
    return {k: (v.value if isinstance(v, StrEnum) else v) for k, v in data.items()}


_PAIR_ID = re.compile(r"^\d{8}_\d{8}$")


def labels_from_json(text: str | bytes) -> tuple[dict[str, PairLabel], dict]:
    """The pairs and the model of a labels file, every value checked.

    Raises
    ------
    ValueError
        Naming the first ill-formed value (malformed or non-standard JSON, a missing or
        mistyped key, a duplicate pair, a probability outside 0..1, an unknown label).
    """
    data = strict_json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("pairs"), list):
        raise ValueError("not a labels file (no list of pairs)")
    model = data.get("model")
    if model is None:
        model = {}
    if not isinstance(model, dict):
        raise ValueError(f"'model' must be an object, got {type(model).__name__}")
    stored: dict[str, PairLabel] = {}
    for n, item in enumerate(data["pairs"]):
        entry = _pair_from_json(item, n)
        if entry.pair_id in stored:
            raise ValueError(f"pair {entry.pair_id} is listed twice")
        stored[entry.pair_id] = entry
    return stored, model


def _pair_from_json(item: object, n: int = 0) -> PairLabel:
    """One pair's entry, checked key by key (unknown keys ignored; ``final`` and ``source``
    are derived, so they are not read back)."""
    if not isinstance(item, dict):
        raise ValueError(f"pair entry {n} is not an object")
    pair_id = item.get("pair_id")
    if not isinstance(pair_id, str) or not _PAIR_ID.match(pair_id):
        raise ValueError(f"pair entry {n}: pair_id {pair_id!r} is not YYYYMMDD_YYYYMMDD")

    def label(key: str) -> Label | None:
        value = item.get(key)
        if value in (None, ""):
            return None
        if value not in ("high", "low"):
            raise ValueError(f"{pair_id}: {key} {value!r} is not high or low")
        return Label(value)

    probability = item.get("probability_high")
    if probability is not None and (isinstance(probability, bool)
                                    or not isinstance(probability, (int, float))
                                    or not math.isfinite(probability)
                                    or not 0.0 <= probability <= 1.0):
        raise ValueError(f"{pair_id}: probability_high {probability!r} is not a number in 0..1")
    evidence = item.get("evidence")
    if evidence is not None and not isinstance(evidence, str):
        raise ValueError(f"{pair_id}: evidence must be text")
    return PairLabel(
        pair_id=pair_id,
        probability_high=None if probability is None else float(probability),
        evidence=evidence or None,
        predicted=label("predicted"),
        override=label("override"),
        readmitted=label("readmitted"),
        preselected=label("preselected"),
        initial=label("initial"),
        closure=_closure_verdict(item.get("closure"), pair_id),
        closure_share=_share(item.get("closure_share"), pair_id),
        repairs=_repairs_from_json(item.get("repairs"), pair_id),
    )


def _share(value: object, pair_id: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0.0 <= value <= 1.0:
        raise ValueError(f"{pair_id}: closure_share {value!r} is not a number in 0..1")
    return float(value)


def _closure_verdict(value: object, pair_id: str) -> str | None:
    """A stored closure verdict; files from before the closure check have none."""
    if value in (None, ""):
        return None
    if value not in ("clean", "repaired", "dropped", "unchecked"):
        raise ValueError(f"{pair_id}: unknown closure verdict {value!r}")
    return str(value)


def _repairs_from_json(value: object, pair_id: str) -> list[Patch]:
    """A pair's stored patches (none in files from before the closure check)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError(f"{pair_id}: repairs must be a list of objects")
    patches = []
    for item in value:
        try:
            patches.append(Patch.from_json(item))
        except (KeyError, TypeError, ValueError) as exc:  # binascii.Error is a ValueError
            raise ValueError(f"{pair_id}: a stored patch is malformed ({exc!r})") from None
    return patches


def set_aside(path: Path) -> Path:
    """Move an unreadable file to ``<name>.unreadable-<time>[-n]``, a name no file has: an
    earlier file set aside in the same second is never overwritten (hard link, then unlink;
    a plain rename where the file system has no hard links)."""
    stamp = time.strftime("%Y%m%d%H%M%S")
    for n in range(1, 10_000):
        aside = path.with_name(f"{path.name}.unreadable-{stamp}" + (f"-{n}" if n > 1 else ""))
        try:
            os.link(path, aside)
        except FileExistsError:
            continue
        except OSError:  # no hard links here (some network and FAT file systems)
            if aside.exists():
                continue
            os.rename(path, aside)
            return aside
        path.unlink()
        return aside
    raise StackError(path, "cannot set the unreadable file aside: too many earlier copies")


_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def remove_stale_temporaries(path: Path, *, max_age_s: float = 3600.0) -> list[Path]:
    """Remove the temporary files that killed writes of ``path`` left beside it: those of
    processes no longer running (``.<name>.<pid>.<random>.tmp``), and nameless older ones
    (``.<name>.<random>``, as earlier versions wrote them) older than ``max_age_s``.

    Returns
    -------
    list of pathlib.Path
        The files removed.
    """
    removed = []
    try:
        candidates = list(path.parent.glob(f".{glob.escape(path.name)}.*"))
    except OSError:
        return removed
    for candidate in candidates:
        match = _TEMPORARY.match(candidate.name)
        try:
            if match and match["name"] == path.name:
                stale = not process_running(int(match["pid"]))
            else:
                stale = (re.fullmatch(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}",
                                      candidate.name) is not None
                         and time.time() - candidate.stat().st_mtime > max_age_s)
            if stale:
                candidate.unlink()
                removed.append(candidate)
        except OSError:
            continue
    return removed


def apply_classification(store: LabelsStore, result, threshold: float) -> None:
    """Save a :class:`~.classify.ClassificationResult` in the store (model name and hash
    included); pairs without data get probability 0 and the cause "no data"."""
    model = dict(result.model)
    model["provider"] = result.provider
    model["threshold"] = threshold
    model["no_data"] = list(result.no_data)
    evidence = {**result.evidence, **{p: "no data" for p in result.no_data}}
    store.set_predictions(result.probabilities, threshold, model, evidence)


def stored_repairs(stack: Stack) -> dict[str, tuple[Patch, ...]]:
    """The repairs a stack's labels file holds, read without creating or changing it (empty
    when there is no labels file).

    Raises
    ------
    StackError
        When the labels file cannot be read or belongs to another stack.
    """
    for path in (sidecar_path(stack.path), fallback_path(stack.path)):
        if not path.is_file():
            continue
        try:
            stored, _ = labels_from_json(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise StackError(path, f"cannot read the stored repairs ({exc}); open the stack "
                                   "once to set the file aside, or pass --no-repairs") from exc
        _check_same_pairs(path, set(stored), set(stack.pair_ids))
        return {pid: entry.active_repairs for pid, entry in stored.items()
                if entry.active_repairs}
    return {}
