"""Map layers of a stack: one group, a mutually exclusive sub-group of interferograms (only the
current one visible) and one of coherence; phase shown unwrapped or re-wrapped."""

from __future__ import annotations

import math
from typing import Any

from qgis.core import (
    QgsColorRampShader,
    QgsProject,
    QgsRasterLayer,
    QgsRasterShader,
    QgsSingleBandGrayRenderer,
    QgsSingleBandPseudoColorRenderer,
)
from qgis.PyQt.QtGui import QColor

from ..qgis_compat import RAMP_INTERPOLATED, STRETCH_TO_MIN_MAX

# A cyclic palette (colour at 0 == colour at 2 pi): how analysts read interferograms.
CYCLIC = ("#e41a1c", "#ff7f00", "#ffff33", "#4daf4a", "#00bcd4", "#377eb8", "#984ea3",
          "#e41a1c")
DIVERGING = ("#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b")


def _range(layer: QgsRasterLayer, band: int = 1) -> tuple[float, float]:
    # The statistics left at their default (all): QGIS 3.40 binds any explicit value, even its
    # new Qgis.RasterBandStatistic flags, to the overload deprecated for an int.
    stats = layer.dataProvider().bandStatistics(band, extent=layer.extent(), sampleSize=250_000)
    low, high = stats.minimumValue, stats.maximumValue
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return -math.pi, math.pi
    return low, high


def style_phase(layer: QgsRasterLayer, wrapped: bool, band: int = 1) -> None:
    """Re-wrapped: the cyclic palette repeats every 2 pi over the layer's range (integer
    jumps vanish, fringes show); unwrapped: a diverging ramp over the whole range."""
    low, high = _range(layer, band)
    items = []
    if wrapped:
        step = 2 * math.pi / (len(CYCLIC) - 1)
        first, last = math.floor(low / (2 * math.pi)), math.ceil(high / (2 * math.pi))
        for cycle in range(first, last):
            for k, colour in enumerate(CYCLIC[:-1]):
                value = cycle * 2 * math.pi + k * step
                items.append(QgsColorRampShader.ColorRampItem(value, QColor(colour),
                                                              f"{value:.1f}"))
        items.append(QgsColorRampShader.ColorRampItem(last * 2 * math.pi, QColor(CYCLIC[-1]),
                                                      f"{last * 2 * math.pi:.1f}"))
        low, high = first * 2 * math.pi, last * 2 * math.pi
    else:
        for k, colour in enumerate(DIVERGING):
            value = low + (high - low) * k / (len(DIVERGING) - 1)
            items.append(QgsColorRampShader.ColorRampItem(value, QColor(colour),
                                                          f"{value:.1f} rad"))
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


def style_coherence(layer: QgsRasterLayer, band: int = 1) -> None:
    renderer = QgsSingleBandGrayRenderer(layer.dataProvider(), band)
    from qgis.core import QgsContrastEnhancement

    enhancement = QgsContrastEnhancement(layer.dataProvider().dataType(1))
    enhancement.setContrastEnhancementAlgorithm(STRETCH_TO_MIN_MAX)
    maximum = 255.0 if layer.dataProvider().dataType(1) == 1 else 1.0  # Byte (LiCSBAS)
    enhancement.setMinimumValue(0.0)
    enhancement.setMaximumValue(maximum)
    renderer.setContrastEnhancement(enhancement)
    layer.setRenderer(renderer)


class StackLayers:
    """Creates the stack's layers lazily (the current pair's first) and switches between them."""

    def __init__(self, stack: Any, group_name: str) -> None:
        self.stack = stack
        root = QgsProject.instance().layerTreeRoot()
        self.group = root.insertGroup(0, group_name)
        self.phase_group = self.group.addGroup("interferograms")
        self.phase_group.setIsMutuallyExclusive(True)
        self.coherence_group = self.group.addGroup("coherence")
        self.coherence_group.setIsMutuallyExclusive(True)
        self.coherence_group.setItemVisibilityChecked(False)
        self.phase_layers: dict[int, QgsRasterLayer] = {}
        self.coherence_layers: dict[int, QgsRasterLayer] = {}
        self.wrapped = True

    def _layer(self, index: int, kind: str) -> QgsRasterLayer | None:
        from ..core.layer_sources import layer_source

        cache = self.phase_layers if kind == "phase" else self.coherence_layers
        if index in cache:
            return cache[index]
        source = layer_source(self.stack, index, kind)
        if source is None:
            return None
        path, band = source
        pair_id = self.stack.pairs[index].pair_id
        layer = QgsRasterLayer(path, f"{pair_id} {'phase' if kind == 'phase' else 'coherence'}")
        if not layer.isValid():
            return None
        layer.setCustomProperty("sbas_selector/band", band)
        if kind == "phase":
            style_phase(layer, self.wrapped, band)
        else:
            style_coherence(layer, band)
        QgsProject.instance().addMapLayer(layer, False)
        group = self.phase_group if kind == "phase" else self.coherence_group
        position = sum(1 for i in cache if i < index)
        node = group.insertLayer(position, layer)
        node.setItemVisibilityChecked(False)
        cache[index] = layer
        return layer

    def show(self, index: int) -> QgsRasterLayer | None:
        """Make pair ``index`` the visible interferogram (and its coherence the coherence)."""
        layer = self._layer(index, "phase")
        if layer is not None:
            self.group.findLayer(layer.id()).setItemVisibilityChecked(True)
        coherence = self._layer(index, "coherence")
        if coherence is not None:
            self.group.findLayer(coherence.id()).setItemVisibilityChecked(True)
        return layer

    def set_wrapped(self, wrapped: bool) -> None:
        self.wrapped = wrapped
        for layer in self.phase_layers.values():
            style_phase(layer, wrapped, int(layer.customProperty("sbas_selector/band", 1)))

    def remove(self) -> None:
        project = QgsProject.instance()
        for layer in [*self.phase_layers.values(), *self.coherence_layers.values()]:
            project.removeMapLayer(layer.id())
        parent = self.group.parent()
        if parent is not None:
            parent.removeChildNode(self.group)
        self.phase_layers.clear()
        self.coherence_layers.clear()
