"""The closure check, the repairs it proposes and the classification, in the order every
entry point (command line, dock task, Processing, pipeline) runs them: find the small local
unwrapping errors first, then classify the pairs as repaired, so that a 16-pixel error is not
mistaken by the classifier's network evidence for a bad pair."""

from __future__ import annotations

from collections.abc import Callable

from .closure import ClosureCheck, check_closure
from .labels import LabelsStore, apply_classification
from .repairs import repaired_stack
from .stack import Stack


def classify_with_repairs(classifier, stack: Stack, store: LabelsStore, threshold: float, *,
                          batch_size: int = 16,
                          progress: Callable[[int, int], None] | None = None,
                          repair: bool = True,
                          cancelled: Callable[[], bool] | None = None
                          ) -> tuple[ClosureCheck | None, object]:
    """Check closure (unless ``repair`` is False), store its verdicts and patches, classify
    the repaired stack and store the classification.

    Returns
    -------
    tuple
        The :class:`~.closure.ClosureCheck` (None without ``repair``) and the
        :class:`~.classify.ClassificationResult`.
    """
    check = None
    source = stack
    if repair:
        check = check_closure(stack)
        store.set_closure(check)
        source = repaired_stack(stack, store.active_repairs())
    kwargs = {"batch_size": batch_size, "progress": progress}
    if cancelled is not None:
        kwargs["cancelled"] = cancelled
    result = classifier.classify(source, **kwargs)
    apply_classification(store, result, threshold)
    return check, result


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
