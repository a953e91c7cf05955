"""QGIS Processing provider ``sbas_selector`` and its algorithms."""
