"""QGIS layer styles (.qml) for the inversion outputs, written as plain XML (no QGIS needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# ColorBrewer RdBu, red = moving away from the satellite (subsidence), blue = toward it.
_DIVERGING = ("#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7", "#d1e5f0", "#92c5de",
              "#4393c3", "#2166ac")


def symmetric_limit(values: np.ndarray, percentile: float = 99.9) -> float:
    """Half-width of a colour ramp centred on 0 that holds ``percentile`` % of |values|."""
    finite = np.abs(values[np.isfinite(values)])
    if finite.size == 0:
        return 1.0
    return float(max(np.percentile(finite, percentile), 1e-3))


def velocity_style_xml(limit: float, unit: str = "mm/yr") -> str:
    """A singleband-pseudocolor QML with a symmetric diverging ramp of ±``limit``."""
    n = len(_DIVERGING)
    items = []
    for k, colour in enumerate(_DIVERGING):
        value = -limit + 2 * limit * k / (n - 1)
        items.append(f'          <item alpha="255" value="{value:.6g}" '
                     f'label="{value:.3g} {unit}" color="{colour}"/>')
    ramp_items = "\n".join(items)
    return f"""<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22" styleCategories="Symbology">
  <pipe>
    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" alphaBand="-1"
                    classificationMin="{-limit:.6g}" classificationMax="{limit:.6g}">
      <rastershader>
        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0"
                         minimumValue="{-limit:.6g}" maximumValue="{limit:.6g}">
{ramp_items}
        </colorrampshader>
      </rastershader>
    </rasterrenderer>
  </pipe>
</qgis>
"""


def write_velocity_style(path: Path, velocity_sample: np.ndarray) -> Path:
    """Write ``velocity.qml`` scaled to the velocities found."""
    path.write_text(velocity_style_xml(symmetric_limit(velocity_sample)), encoding="utf-8")
    return path
