"""Runs inside the real QGIS desktop (``qgis --code``): small unwrapping errors (issue 12).

A simulated stack with small local errors is opened; the first repaired pair is made current:
its patches in the dock's panel and outlined on the map, the per-pixel closure layer in the
stack's group; one patch is masked from the panel. Writes a JSON result and screenshots.
Driven by tests/gui/test_desktop.py."""

import os
import sys

from qgis.core import QgsProject
from qgis.utils import iface, plugins

sys.path.insert(0, os.environ["SBAS_GUI_DIR"])
from driver_common import run_with_dock, settle, shot, wait_until

STACK = os.environ["SBAS_GUI_STACK"]
result = {"started": True}


def steps():
    dock = plugins["sbas_selector"].dock
    window = iface.mainWindow()
    opened = []
    dock.stack_opened.connect(opened.append)
    dock.open_stack(STACK)
    result["opened"] = wait_until(lambda: opened, 120)
    settle(500)
    result["status"] = dock.status_label.text()
    repaired = [i for i, p in enumerate(dock.stack.pair_ids)
                if dock.store.labels[p].closure == "repaired"]
    result["repaired_pairs"] = len(repaired)
    index = max(repaired, key=lambda i: sum(x.n_pixels
                                            for x in dock.store.labels[
                                                dock.stack.pair_ids[i]].repairs))
    dock.select_pair(index)
    dock.wrapped_check.setChecked(False)  # unwrapped: the 2 pi step shows as a colour jump
    settle(1500)
    pair_id = dock.stack.pair_ids[index]
    result["pair"] = pair_id
    result["panel_rows"] = dock.repairs_panel.table.rowCount()
    result["panel_summary"] = dock.repairs_panel.summary_label.text()
    project = QgsProject.instance()
    outlines = project.mapLayersByName("Unwrapping errors of the current pair")
    result["outlines"] = outlines[0].featureCount() if outlines else -1
    closure = project.mapLayersByName("Misclosed triplets per pixel")
    result["closure_layer"] = bool(closure) and closure[0].isValid()
    result["graph_marks"] = sum(e.repaired for e in dock.graph_model.edges)
    shot(window, "repair_patch.png")
    patch = dock.store.labels[pair_id].repairs[0]
    result["masked"] = dock.decide_patch(patch.patch_id, "mask")
    settle(800)
    result["action_after"] = dock.store.labels[pair_id].repairs[0].action
    result["outline_action"] = next(outlines[0].getFeatures())["action"] if outlines else None


run_with_dock(steps, result, 200000)
