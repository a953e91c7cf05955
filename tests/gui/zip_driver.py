"""Runs inside the real QGIS desktop (``qgis --code``) of a fresh profile without the plugin
and without onnxruntime: installs the plugin zip through QGIS's own "Install from ZIP" code,
checks that the dependency dialog appears, makes onnxruntime importable (as a ``pip install
--user`` would) and checks that the dialog goes away, loads the sample stack with one click,
then classifies, drops a pair, exports and inverts; saves screenshots and a JSON result.
Driven by tests/gui/test_desktop.py."""

import os
import site
import sys
import traceback

from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtTest import QTest
from qgis.PyQt.QtWidgets import QApplication
from qgis.utils import iface, plugins

sys.path.insert(0, os.environ["SBAS_GUI_DIR"])
from driver_common import OUT, finish, give_up_after, once, settle, shot, wait_until

ZIP = os.environ["SBAS_GUI_ZIP"]
SITE = os.environ["SBAS_GUI_SITE"]
result = {"started": True}


def after_open(stack):
    try:
        dock = plugins["sbas_selector"].dock
        window = iface.mainWindow()
        result["sample_pairs"] = stack.n_pairs
        result["sample_path"] = str(stack.path)
        settle(800)
        shot(window, "sample_loaded.png")
        dock.classify()
        result["classified"] = wait_until(lambda: dock._task is None, 120)
        result["provider_after_classify"] = dock.provider_label.text()
        kept = [p for p in stack.pair_ids if dock.store.final(p).value == "high"]
        dock.select_pair(stack.index_of(kept[0]))
        dock.table.setFocus()
        QTest.keyClick(dock.table, Qt.Key.Key_D)
        settle()
        result["dropped_by_hand"] = kept[0]
        result["label_after_d"] = dock.store.final(kept[0]).value
        written = dock.export("licsbas", os.path.join(OUT, "rm_ifg_list.txt"))
        result["export"] = open(written[0]).read().split() if written else []
        dock.tabs.setCurrentIndex(2)
        dock.invert()
        result["inverted"] = wait_until(lambda: dock.inversion is not None, 120)
        layer = dock.velocity_layer
        result["velocity_layer"] = layer.name() if layer is not None else None
        result["velocity_units"] = (layer.dataProvider().bandStatistics(1).mean
                                    if layer is not None else None) is not None
        if layer is not None:
            iface.mapCanvas().setExtent(layer.extent())
            iface.mapCanvas().refresh()
        settle(1500)
        shot(window, "inverted.png")
        dialog = dock.show_help("invert")
        settle(500)
        result["help_source"] = dialog.browser.source().toLocalFile()
        shot(dialog, "help.png")
        dialog.close()
    except Exception:
        result["error"] = traceback.format_exc()
    finish(result)


@once
def run():
    try:
        window = iface.mainWindow()
        window.resize(1600, 1000)
        try:
            import onnxruntime  # noqa: F401

            result["onnxruntime_at_start"] = True
        except ImportError:
            result["onnxruntime_at_start"] = False
        result["installed_before"] = "sbas_selector" in plugins
        import pyplugin_installer

        pyplugin_installer.instance().installFromZipFile(ZIP)
        settle(1500)
        plugin = plugins.get("sbas_selector")
        result["installed"] = plugin is not None
        result["plugin_file"] = sys.modules["sbas_selector"].__file__
        dialogs = [w for w in QApplication.topLevelWidgets()
                   if w.objectName() == "SbasDependenciesDialog" and w.isVisible()]
        result["dialog_shown"] = len(dialogs) == 1
        if not dialogs:
            finish(result)
            return
        dialog = dialogs[0]
        result["dialog_text"] = dialog.summary_label.text()
        result["dialog_commands"] = dialog.commands_text.toPlainText()
        result["provider_before"] = plugin.dock.provider_label.text()
        settle(300)
        shot(dialog, "dependencies_dialog.png")
        site.addsitedir(SITE)  # what "Install for me" (pip install --user) leaves behind
        dialog.check_button.click()
        settle(500)
        result["dialog_visible_after"] = dialog.isVisible()
        result["provider_after"] = plugin.dock.provider_label.text()
        dock = plugin.dock
        dock.show()
        dock.setMinimumWidth(620)
        dock.stack_opened.connect(after_open)
        QTest.mouseClick(dock.sample_button, Qt.MouseButton.LeftButton)
        give_up_after(180000, result)
    except Exception:
        result["error"] = traceback.format_exc()
        finish(result)


iface.initializationCompleted.connect(run)
QTimer.singleShot(3000, run)
