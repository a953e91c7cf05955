"""Map layers of the closure check, in the stack's group: the per-pixel count of misclosed
triplets (hidden until asked for) and the current pair's patch outlines (coloured by what is
done: green corrected, orange masked, grey ignored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsColorRampShader,
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFillSymbol,
    QgsGeometry,
    QgsProject,
    QgsRasterLayer,
    QgsRasterShader,
    QgsRendererCategory,
    QgsSingleBandPseudoColorRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor

from ..core.closure_layers import closure_raster_path, patch_outline_wkt, write_closure_raster
from ..qgis_compat import RAMP_INTERPOLATED

ACTION_COLOURS = {"correct": "#1b9e77", "mask": "#ff7f00", "ignore": "#8c8c8c"}
CLOSURE_LAYER = "Misclosed triplets per pixel"
PATCH_LAYER = "Unwrapping errors of the current pair"


def closure_layer(check: Any, stack: Any, written: Path | None = None
                  ) -> QgsRasterLayer | None:
    """The per-pixel count of misclosed triplets as a styled raster layer (0 transparent);
    ``written``: the raster, already written from ``check`` (by the task that opened the
    stack: a frame's takes a third of a second to write)."""
    path = written or write_closure_raster(check, stack.grid, closure_raster_path(stack.path))
    layer = QgsRasterLayer(str(path), CLOSURE_LAYER)
    if not layer.isValid():
        return None
    top = max(2, int(check.misclosed_count.max()))
    items = [QgsColorRampShader.ColorRampItem(0, QColor(0, 0, 0, 0), "0"),
             QgsColorRampShader.ColorRampItem(1, QColor("#fed976"), "1"),
             QgsColorRampShader.ColorRampItem(top, QColor("#bd0026"), str(top))]
    ramp = QgsColorRampShader(0, top)
    ramp.setColorRampType(RAMP_INTERPOLATED)
    ramp.setColorRampItemList(items)
    shader = QgsRasterShader()
    shader.setRasterShaderFunction(ramp)
    renderer = QgsSingleBandPseudoColorRenderer(layer.dataProvider(), 1, shader)
    renderer.setClassificationMin(0)
    renderer.setClassificationMax(top)
    layer.setRenderer(renderer)
    return layer


def patch_layer(crs_wkt: str) -> QgsVectorLayer:
    """An empty memory layer for the current pair's patch outlines."""
    # Fields declared in the provider's URI: no QVariant types (Qt6 has none).
    fields = "&".join(f"field={name}:{kind}" for name, kind in (
        ("pair_id", "string"), ("patch_id", "integer"), ("n_pixels", "integer"),
        ("cycles", "integer"), ("action", "string"), ("source", "string")))
    layer = QgsVectorLayer(f"MultiPolygon?{fields}", PATCH_LAYER, "memory")
    layer.setCrs(QgsCoordinateReferenceSystem.fromWkt(crs_wkt))
    categories = []
    for action, colour in ACTION_COLOURS.items():
        symbol = QgsFillSymbol.createSimple({"color": "0,0,0,0", "outline_color": colour,
                                             "outline_width": "0.8"})
        categories.append(QgsRendererCategory(action, symbol, action))
    layer.setRenderer(QgsCategorizedSymbolRenderer("action", categories))
    return layer


def show_patches(layer: QgsVectorLayer, grid: Any, pair_id: str, patches: list[Any]) -> None:
    """Replace the layer's features with ``patches`` of ``pair_id``."""
    provider = layer.dataProvider()
    provider.truncate()
    features = []
    for patch in patches:
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromWkt(patch_outline_wkt(patch, grid)))
        feature.setAttributes([pair_id, patch.patch_id, patch.n_pixels, patch.cycles,
                               patch.action, patch.source])
        features.append(feature)
    provider.addFeatures(features)
    layer.updateExtents()
    layer.triggerRepaint()


def add_to_group(group: Any, layer: Any, visible: bool) -> None:
    """Add ``layer`` at the top of the stack's ``group`` (collapsed legend)."""
    QgsProject.instance().addMapLayer(layer, False)
    node = group.insertLayer(0, layer)
    node.setItemVisibilityChecked(visible)
    node.setExpanded(False)
