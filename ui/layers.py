"""Map layers of a stack: one group per stack (newest on top) holding its inversion results, a
mutually exclusive sub-group of interferograms (only the current one visible) and one of
coherence. Phase is shown re-referenced: re-wrapped on -pi..pi, or unwrapped centred on zero."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from qgis.core import (
    QgsColorRampShader,
    QgsContrastEnhancement,
    QgsLayerTreeGroup,
    QgsProject,
    QgsRasterLayer,
    QgsRasterShader,
    QgsSingleBandGrayRenderer,
    QgsSingleBandPseudoColorRenderer,
)
from qgis.PyQt import sip
from qgis.PyQt.QtGui import QColor

from ..core.phase_display import (
    UNWRAPPED_BAND,
    WRAPPED_BAND,
    display_raster_path,
    write_display_bands,
)
from ..qgis_compat import RAMP_INTERPOLATED, STRETCH_TO_MIN_MAX

# A cyclic palette (colour at -pi == colour at pi): how analysts read interferograms.
CYCLIC = ("#e41a1c", "#ff7f00", "#ffff33", "#4daf4a", "#00bcd4", "#377eb8", "#984ea3",
          "#e41a1c")
DIVERGING = ("#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b")
logger = logging.getLogger(__name__)
STACK_PROPERTY = "sbas_selector/stack"
INVERSION_GROUP = "SBAS inversion"
#: Rasters larger than this (pixels) get their display bands written in a background task:
#: about 0.2 s of reading, re-referencing and writing on the main thread at this size, and
#: seconds for a 2,500 x 3,000 px frame.
BACKGROUND_PIXELS = 1_000_000


def _pseudocolor(layer: QgsRasterLayer, band: int, items: list, low: float,
                 high: float) -> None:
    ramp = QgsColorRampShader(low, high)
    ramp.setColorRampType(RAMP_INTERPOLATED)
    ramp.setColorRampItemList(items)
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(ramp)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), band, shader)
    renderer.setClassificationMin(low)
    renderer.setClassificationMax(high)
    layer.setRenderer(renderer)
    layer.triggerRepaint()


def style_phase(layer: QgsRasterLayer, wrapped: bool, limit_rad: float = math.pi,
                wavelength_m: float | None = None) -> None:
    """Style a display raster (:mod:`~sbas_selector.core.phase_display`).

    Re-wrapped: band 2 with the cyclic palette over -pi..pi rad. Unwrapped: band 1 with a
    diverging ramp over -``limit_rad``..``limit_rad``, zero (the reference) white, labelled
    in radians and, with ``wavelength_m``, in mm of line-of-sight displacement.
    """
    items = []
    if wrapped:
        step = 2 * math.pi / (len(CYCLIC) - 1)
        names = {0: "-π rad", len(CYCLIC) - 1: "π rad"}
        for k, colour in enumerate(CYCLIC):
            value = -math.pi + k * step
            label = names.get(k, f"{value:.2f} rad")
            items.append(QgsColorRampShader.ColorRampItem(value, QColor(colour), label))
        _pseudocolor(layer, WRAPPED_BAND, items, -math.pi, math.pi)
        return
    for k, colour in enumerate(DIVERGING):
        value = -limit_rad + 2 * limit_rad * k / (len(DIVERGING) - 1)
        label = f"{value:.1f} rad"
        if wavelength_m:
            label += f" ({-wavelength_m / (4 * math.pi) * value * 1000:.0f} mm)"
        items.append(QgsColorRampShader.ColorRampItem(value, QColor(colour), label))
    _pseudocolor(layer, UNWRAPPED_BAND, items, -limit_rad, limit_rad)


def style_coherence(layer: QgsRasterLayer, band: int = 1) -> None:
    renderer = QgsSingleBandGrayRenderer(layer.dataProvider(), band)
    enhancement = QgsContrastEnhancement(layer.dataProvider().dataType(1))
    enhancement.setContrastEnhancementAlgorithm(STRETCH_TO_MIN_MAX)
    maximum = 255.0 if layer.dataProvider().dataType(1) == 1 else 1.0  # Byte (LiCSBAS)
    enhancement.setMinimumValue(0.0)
    enhancement.setMaximumValue(maximum)
    renderer.setContrastEnhancement(enhancement)
    layer.setRenderer(renderer)


def _find_stack_group(group: QgsLayerTreeGroup, key: str) -> QgsLayerTreeGroup | None:
    """The group of the stack ``key`` anywhere under ``group`` (None if the analyst removed
    it, or the project was cleared)."""
    for node in group.children():
        if isinstance(node, QgsLayerTreeGroup):
            if node.customProperty(STACK_PROPERTY) == key:
                return node
            found = _find_stack_group(node, key)
            if found is not None:
                return found
    return None


def _stack_group(root: QgsLayerTreeGroup, key: str, name: str) -> QgsLayerTreeGroup:
    """The stack's group, moved (or created) at the top of the layer tree."""
    for node in root.children():
        if isinstance(node, QgsLayerTreeGroup) and node.customProperty(STACK_PROPERTY) == key:
            if root.children().index(node) == 0:
                return node
            moved = node.clone()
            root.insertChildNode(0, moved)
            root.removeChildNode(node)
            return moved
    group = root.insertGroup(0, name)
    group.setCustomProperty(STACK_PROPERTY, key)
    return group


class StackLayers:
    """Creates the stack's layers lazily (the current pair's first) and switches between them.

    Parameters
    ----------
    stack
        The open :class:`~sbas_selector.core.Stack`.
    group_name
        Name of its group; a stack opened again finds its group (and its inversion results)
        and moves it to the top.
    """

    def __init__(self, stack: Any, group_name: str) -> None:
        self.stack = stack
        self.name, self.key = group_name, str(stack.path)
        self.phase_layers: dict[int, QgsRasterLayer] = {}
        self.coherence_layers: dict[int, QgsRasterLayer] = {}
        self.phase_limits: dict[int, float] = {}
        self.wrapped = True
        #: (row, col) the phase is referenced to; None: each pair's median.
        self.reference_pixel: tuple[int, int] | None = None
        #: The pair to show; its phase layer may still be written in the background.
        self.wanted: int | None = None
        #: Display rasters being written, by pair index (large rasters only).
        self.pending: dict[int, Any] = {}
        #: Called with a pair's index once its phase layer, written in the background, is
        #: on the map (the dock refreshes the canvas and its lines).
        self.on_ready: Callable[[int], None] | None = None
        self._released = False
        root = QgsProject.instance().layerTreeRoot()
        self.group = _stack_group(root, self.key, group_name)
        for name in ("interferograms", "coherence"):  # left by an earlier opening
            old = self.group.findGroup(name)
            if old is not None:
                self.group.removeChildNode(old)
        self._sub_groups()

    def _sub_groups(self) -> None:
        phase = self.group.findGroup("interferograms")
        if phase is None:
            phase = self.group.addGroup("interferograms")
            phase.setIsMutuallyExclusive(True)
        coherence = self.group.findGroup("coherence")
        if coherence is None:
            coherence = self.group.addGroup("coherence")
            coherence.setIsMutuallyExclusive(True)
            coherence.setItemVisibilityChecked(False)
            coherence.setExpanded(False)
        self.phase_group, self.coherence_group = phase, coherence

    def _revive(self) -> bool:
        """Follow what the analyst did to the layer tree (removed the group, cleared the
        project): the group nodes are looked up again, never used once deleted, and layers
        no longer in the project are forgotten. Returns whether the group was still there."""
        project = QgsProject.instance()
        for cache in (self.phase_layers, self.coherence_layers):
            for index, layer in list(cache.items()):
                if sip.isdeleted(layer) or project.mapLayer(layer.id()) is None:
                    del cache[index]
        group = _find_stack_group(project.layerTreeRoot(), self.key)
        alive = group is not None
        if group is None:
            group = _stack_group(project.layerTreeRoot(), self.key, self.name)
        self.group = group
        self._sub_groups()
        return alive

    def _layer(self, index: int, kind: str) -> QgsRasterLayer | None:
        self._revive()
        cache = self.phase_layers if kind == "phase" else self.coherence_layers
        if index in cache:
            return cache[index]
        pair_id = self.stack.pairs[index].pair_id
        if kind == "phase":
            path = display_raster_path(self.stack, index, self.reference_pixel)
            grid = self.stack.grid
            if grid.width * grid.height > BACKGROUND_PIXELS:
                self._write_in_background(index, path)
                return None
            limit = write_display_bands(self.stack.source(index, "phase"), grid, path,
                                        self.reference_pixel)
            return self._add_phase_layer(index, path, limit)
        else:
            from ..core.layer_sources import layer_source

            source = layer_source(self.stack, index, kind)
            if source is None:
                return None
            path, band = source
            layer = QgsRasterLayer(path, f"{pair_id} coherence")
            if not layer.isValid():
                return None
            style_coherence(layer, band)
        self._insert(index, layer, self.coherence_layers, self.coherence_group)
        return layer

    def _insert(self, index: int, layer: QgsRasterLayer, cache: dict[int, QgsRasterLayer],
                group: QgsLayerTreeGroup) -> None:
        """Add ``layer`` to the project and to ``group`` in pair order, hidden, collapsed."""
        QgsProject.instance().addMapLayer(layer, False)
        position = sum(1 for i in cache if i < index)
        node = group.insertLayer(position, layer)
        node.setItemVisibilityChecked(False)
        node.setExpanded(False)
        cache[index] = layer

    def _add_phase_layer(self, index: int, path: Any, limit: float) -> QgsRasterLayer | None:
        layer = QgsRasterLayer(str(path), f"{self.stack.pairs[index].pair_id} phase (rad)")
        if not layer.isValid():
            return None
        self.phase_limits[index] = limit
        style_phase(layer, self.wrapped, limit, self.stack.wavelength_m)
        self._insert(index, layer, self.phase_layers, self.phase_group)
        return layer

    def _write_in_background(self, index: int, path: Any) -> None:
        """Write pair ``index``'s display raster in a task (once); the layer is added when
        it is written, and shown if the pair is still the one wanted."""
        from qgis.core import QgsApplication

        from ..tasks import DisplayRasterTask

        if index in self.pending and not self.pending[index].isCanceled():
            return
        reference = self.reference_pixel

        def failed(error: BaseException | None) -> None:
            if self.pending.get(index) is task:
                del self.pending[index]
            if error is not None:
                logger.warning("map layer of pair %s not written: %s", index, error)

        task = DisplayRasterTask(index, self.stack.source(index, "phase"), self.stack.grid,
                                 str(path), reference,
                                 lambda result: self._written(result, reference, task), failed)
        self.pending[index] = task
        QgsApplication.taskManager().addTask(task)

    def _written(self, result: tuple[int, str, float], reference: Any, task: Any) -> None:
        index, path, limit = result
        if self.pending.get(index) is task:
            del self.pending[index]
        if self._released or reference != self.reference_pixel or index in self.phase_layers:
            return
        self._revive()
        layer = self._add_phase_layer(index, path, limit)
        if layer is None or index != self.wanted:
            return
        self.group.findLayer(layer.id()).setItemVisibilityChecked(True)
        if self.on_ready is not None:
            self.on_ready(index)

    def show(self, index: int) -> QgsRasterLayer | None:
        """Make pair ``index`` the visible interferogram (and its coherence the coherence).

        A large raster's phase layer may not be there yet (None): it is written in the
        background and shown when ready; meanwhile no other pair's phase is shown, and the
        writing of pairs no longer wanted is cancelled.
        """
        self.wanted = index
        for other, task in list(self.pending.items()):
            if other != index:
                task.cancel()
        layer = self._layer(index, "phase")
        if layer is not None:
            self.group.findLayer(layer.id()).setItemVisibilityChecked(True)
        else:
            for node in self.phase_group.findLayers():
                node.setItemVisibilityChecked(False)
        coherence = self._layer(index, "coherence")
        if coherence is not None:
            self.group.findLayer(coherence.id()).setItemVisibilityChecked(True)
        return layer

    def cancel_pending(self) -> None:
        """Stop writing display rasters (another stack, another reference)."""
        for task in list(self.pending.values()):
            task.cancel()
        self.pending.clear()

    def set_wrapped(self, wrapped: bool) -> None:
        self.wrapped = wrapped
        self._revive()
        for index, layer in self.phase_layers.items():
            style_phase(layer, wrapped, self.phase_limits[index], self.stack.wavelength_m)

    def set_reference(self, pixel: tuple[int, int] | None) -> None:
        """Reference the phase to ``pixel`` (row, col): the interferogram layers are made
        again, lazily, the next time they are shown."""
        if pixel == self.reference_pixel:
            return
        self.reference_pixel = pixel
        self.cancel_pending()
        self._revive()
        self._remove_layers(self.phase_layers)
        self.phase_limits.clear()

    def add_result(self, layer: QgsRasterLayer) -> None:
        """Put an inversion output on top of this stack's "SBAS inversion" group, itself at
        the top of the stack's group."""
        self._revive()
        group = self.group.findGroup(INVERSION_GROUP)
        if group is None:
            group = self.group.insertGroup(0, INVERSION_GROUP)
        QgsProject.instance().addMapLayer(layer, False)
        group.insertLayer(0, layer)

    @staticmethod
    def _remove_layers(cache: dict[int, QgsRasterLayer]) -> None:
        project = QgsProject.instance()
        for layer in cache.values():
            project.removeMapLayer(layer.id())
        cache.clear()

    def release(self) -> None:
        """Another stack takes the dock: remove the interferograms and coherence, keep the
        group only if it holds inversion results. Nothing to do for what the analyst already
        removed (or a cleared project)."""
        self._released = True
        self.cancel_pending()
        project = QgsProject.instance()
        if _find_stack_group(project.layerTreeRoot(), self.key) is None:
            self.phase_layers.clear()
            self.coherence_layers.clear()
            return
        self._revive()
        self._remove_layers(self.phase_layers)
        self._remove_layers(self.coherence_layers)
        for group in (self.phase_group, self.coherence_group):
            self.group.removeChildNode(group)
        parent = self.group.parent()
        if parent is not None and not self.group.children():
            parent.removeChildNode(self.group)

    remove = release
