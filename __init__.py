"""SBAS Interferogram Selector: a QGIS plugin (package ``sbas_selector``).

Nothing of QGIS is imported at module level, so ``sbas_selector.core`` and the command line
import anywhere.
"""

from __future__ import annotations


def classFactory(iface):
    """Create the plugin (called by QGIS)."""
    from .plugin import SbasSelectorPlugin

    return SbasSelectorPlugin(iface)
