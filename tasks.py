"""Background work: one small QgsTask base class, and the tasks built on it.

A task receives paths and plain values only (never a layer, the project or a widget); its
``_run`` executes in a worker thread, and the callbacks run on the main thread in ``finished``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from qgis.core import QgsTask

logger = logging.getLogger(__name__)


class TaskCancelledError(Exception):
    """Raised inside ``_run`` when the user pressed Cancel."""


class BaseTask(QgsTask):
    """``run`` wraps ``_run``, keeps its exception; ``finished`` reports on the main thread.

    Parameters
    ----------
    description
        Shown in QGIS's task manager.
    on_success
        Called with ``_run``'s result.
    on_failure
        Called with the exception, or None when cancelled.
    """

    def __init__(self, description: str, on_success: Callable[[Any], None],
                 on_failure: Callable[[BaseException | None], None]) -> None:
        super().__init__(description, QgsTask.CanCancel)
        self._on_success = on_success
        self._on_failure = on_failure
        self.exception: BaseException | None = None
        self.result_value: Any = None

    def _run(self) -> Any:
        raise NotImplementedError

    def tick(self, done: int, total: int) -> None:
        """Report progress and stop if cancelled."""
        self.setProgress(100.0 * done / max(total, 1))
        if self.isCanceled():
            raise TaskCancelledError

    def run(self) -> bool:  # worker thread
        try:
            self.result_value = self._run()
            return True
        except TaskCancelledError:
            return False
        except Exception as exc:  # reported in finished(), on the main thread
            logger.debug("task %s failed", self.description(), exc_info=True)
            self.exception = exc
            return False

    def finished(self, ok: bool) -> None:  # main thread
        if ok:
            self._on_success(self.result_value)
        else:
            self._on_failure(None if self.isCanceled() else self.exception)


class OpenStackTask(BaseTask):
    """Open a stack (detect its format, read headers and baselines), measure its pairs and
    write its per-pixel closure raster in the background; the result is ``(stack,
    statistics, closure raster path or None)``."""

    def __init__(self, path: str, on_success: Callable[[Any], None],
                 on_failure: Callable[[BaseException | None], None]) -> None:
        super().__init__(f"Open SBAS stack {path}", on_success, on_failure)
        self.path = path

    def _run(self) -> Any:
        from .core import open_stack
        from .core.closure_layers import closure_raster_path, write_closure_raster
        from .core.review import pair_statistics

        self.tick(0, 1)
        stack = open_stack(self.path)
        statistics = pair_statistics(stack, progress=self.tick)
        closure_raster = None
        if statistics.check is not None:  # written here: a frame's takes a third of a second
            closure_raster = write_closure_raster(statistics.check, stack.grid,
                                                  closure_raster_path(stack.path))
        return stack, statistics, closure_raster


class DisplayRasterTask(BaseTask):
    """Write one pair's display bands (re-referenced and re-wrapped phase) for the map: seconds
    for a frame-sized raster, so the main thread only adds the layer once it is written. The
    result is ``(index, path, limit)``."""

    def __init__(self, index: int, source: Any, grid: Any, path: str,
                 reference_pixel: tuple[int, int] | None,
                 on_success: Callable[[Any], None],
                 on_failure: Callable[[BaseException | None], None]) -> None:
        super().__init__(f"Map layer of pair {index + 1}", on_success, on_failure)
        self.index = index
        self.source = source  # a frozen raster source: a path and how to decode it
        self.grid = grid
        self.path = path
        self.reference_pixel = reference_pixel

    def _run(self) -> Any:
        from pathlib import Path

        from .core.phase_display import write_display_bands

        limit = write_display_bands(self.source, self.grid, Path(self.path),
                                    self.reference_pixel, progress=self.tick)
        return self.index, self.path, limit


class InvertTask(BaseTask):
    """Run the SBAS inversion of a stack's kept pairs into an output folder."""

    def __init__(self, stack_path: str, out_dir: str, keep: Any, options: Any,
                 on_success: Callable[[Any], None],
                 on_failure: Callable[[BaseException | None], None],
                 points: bool = False, repairs: dict | None = None) -> None:
        super().__init__(f"SBAS inversion of {stack_path}", on_success, on_failure)
        self.stack_path = stack_path
        self.out_dir = out_dir
        self.keep = keep
        self.options = options
        self.points = points
        self.repairs = dict(repairs or {})  # per pair, the patches applied on the fly

    def _run(self) -> Any:
        from .core import open_stack
        from .core.inversion import InversionCancelledError, run_inversion
        from .core.repairs import repaired_stack

        stack = repaired_stack(open_stack(self.stack_path), self.repairs)
        try:
            result = run_inversion(stack, self.out_dir, keep=self.keep, options=self.options,
                                   progress=self.tick, cancelled=self.isCanceled)
        except InversionCancelledError:
            raise TaskCancelledError from None
        if self.points:
            from .core.inversion.points import write_points_gpkg

            result.files["points"] = write_points_gpkg(self.out_dir)
        return result


_CLASSIFIERS: dict[tuple[str, str], Any] = {}
_CLASSIFIERS_LOCK = threading.Lock()


def shared_classifier(model_path: str | None, device: str) -> Any:
    """One onnxruntime session per (model, device), created once and reused."""
    from .core.classify import DEFAULT_MODEL, Classifier

    key = (str(model_path or DEFAULT_MODEL), device)
    with _CLASSIFIERS_LOCK:
        if key not in _CLASSIFIERS:
            _CLASSIFIERS[key] = Classifier(model_path, device=device)
        return _CLASSIFIERS[key]


class ClassifyTask(BaseTask):
    """Find and repair small unwrapping errors (per-pixel closure), then score every repaired
    pair; the result is ``(closure check, classification)``, stored in ``finished`` (main
    thread), so a cancelled run leaves the saved labels as they were."""

    def __init__(self, stack_path: str, model_path: str | None, device: str,
                 on_success: Callable[[Any], None],
                 on_failure: Callable[[BaseException | None], None],
                 decisions: dict | None = None, repair: bool = True) -> None:
        super().__init__(f"Classify interferograms of {stack_path}", on_success, on_failure)
        self.stack_path = stack_path
        self.model_path = model_path
        self.device = device
        self.decisions = dict(decisions or {})  # the analyst's patch decisions so far
        self.repair = repair
        self.done_text = ""

    def _progress(self, done: int, total: int) -> None:
        self.done_text = f"pair {done} of {total}"
        self.tick(done, total)

    def _run(self) -> Any:
        from .core import open_stack
        from .core.classify import ClassificationCancelledError
        from .core.repair_flow import check_and_classify

        classifier = shared_classifier(self.model_path, self.device)
        stack = open_stack(self.stack_path)
        self.done_text = "checking closure"
        try:
            return check_and_classify(classifier, stack, self.decisions,
                                      progress=self._progress, cancelled=self.isCanceled,
                                      repair=self.repair)
        except ClassificationCancelledError:
            raise TaskCancelledError from None
