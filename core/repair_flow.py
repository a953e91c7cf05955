"""The closure check, the repairs it proposes and the classification, in the order every
entry point (command line, dock task, Processing, pipeline) runs them: find the small local
unwrapping errors first, then classify the pairs as repaired, so that a 16-pixel error is not
mistaken by the classifier's network evidence for a bad pair."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from .closure import ClosureCheck, check_closure
from .labels import LabelsStore, apply_classification
from .repairs import Patch, merged_repairs, repaired_stack
from .stack import Stack


def active_from_check(check: ClosureCheck, decisions: Mapping[str, Sequence[Patch]] | None
                      ) -> dict[str, tuple[Patch, ...]]:
    """What :meth:`.labels.LabelsStore.active_repairs` will hold once ``check`` is stored:
    the patches that change the phase, per repaired pair."""
    merged = merged_repairs({pid: c.patches for pid, c in check.pairs.items()}, decisions)
    return {pid: tuple(p for p in merged[pid] if p.action != "ignore")
            for pid, result in check.pairs.items() if result.verdict == "repaired"
            and any(p.action != "ignore" for p in merged[pid])}


def check_and_classify(classifier, stack: Stack,
                       decisions: Mapping[str, Sequence[Patch]] | None = None, *,
                       batch_size: int = 16,
                       progress: Callable[[int, int], None] | None = None,
                       cancelled: Callable[[], bool] | None = None, repair: bool = True
                       ) -> tuple[ClosureCheck | None, object]:
    """The closure check, then the classifier on the repaired pairs; nothing is stored (for
    background tasks, which hand both results to the main thread).

    Parameters
    ----------
    decisions
        Per pair, the analyst's patch decisions so far (kept where the same patch is found).
    """
    check = None
    source = stack
    if repair:
        check = check_closure(stack)
        source = repaired_stack(stack, active_from_check(check, decisions))
    kwargs: dict = {"batch_size": batch_size, "progress": progress}
    if cancelled is not None:
        kwargs["cancelled"] = cancelled
    return check, classifier.classify(source, **kwargs)


def classify_with_repairs(classifier, stack: Stack, store: LabelsStore, threshold: float, *,
                          batch_size: int = 16,
                          progress: Callable[[int, int], None] | None = None,
                          repair: bool = True,
                          cancelled: Callable[[], bool] | None = None
                          ) -> tuple[ClosureCheck | None, object]:
    """Check closure (unless ``repair`` is False), classify the repaired pairs, and store
    both (verdicts, patches, probabilities and labels).

    Returns
    -------
    tuple
        The :class:`~.closure.ClosureCheck` (None without ``repair``) and the
        :class:`~.classify.ClassificationResult`.
    """
    decisions = {pid: entry.repairs for pid, entry in store.labels.items()}
    check, result = check_and_classify(classifier, stack, decisions, batch_size=batch_size,
                                       progress=progress, cancelled=cancelled, repair=repair)
    if check is not None:
        store.set_closure(check)
    apply_classification(store, result, threshold)
    return check, result


def repair_lines(store: LabelsStore, pair_ids: Sequence[str], everything: bool = False
                 ) -> list[str]:
    """"<pair>: <what the closure check found>" for each pair repaired or dropped by it (with
    ``everything``, also for unchecked ones): what the command line and the pipeline print."""
    return [f"{pid}: {store.labels[pid].repair_text}" for pid in pair_ids
            if store.labels[pid].closure in ("repaired", "dropped")
            or (everything and store.labels[pid].repair_text)]


def decide_patch(stack: Stack, store: LabelsStore, pair_id: str, patch_id: int,
                 action: str) -> str:
    """The analyst's decision on one patch, saved at once (undoable with ``store.undo``).

    A correction is refused when it would not lower the pair's whole-cycle misclosure inside
    the patch (it would make closure worse, or no better).

    Returns
    -------
    str
        The patch in words, as now decided.

    Raises
    ------
    KeyError
        No such pair or patch.
    ValueError
        The action is unknown, or the correction is refused (the reason is in the message).
    """
    from .closure import correction_effect

    if action not in ("correct", "mask", "ignore"):
        raise ValueError(f"unknown action {action!r}; choose correct, mask or ignore")
    entry = store.labels[pair_id]
    patch = next((p for p in entry.repairs if p.patch_id == patch_id), None)
    if patch is None:
        raise KeyError(f"{pair_id} has no patch {patch_id}")
    if action == "correct":
        before, after = correction_effect(stack, stack.index_of(pair_id), patch)
        if after >= before:
            raise ValueError(
                f"correcting patch {patch_id} of {pair_id} by {patch.cycles:+d} cycle(s) would "
                f"not improve closure ({before} cycles of misclosure inside it before, "
                f"{after} after): refused; mask or ignore it instead")
    return store.set_repair_action(pair_id, patch_id, action).describe()
