"""The plugin in a headless QgsApplication: classFactory, initGui, dock, Processing, unload."""

from __future__ import annotations

import json

import pytest


def test_metadata_has_the_keys_plugins_qgis_org_requires():
    import configparser
    from pathlib import Path

    import sbas_selector

    parser = configparser.ConfigParser()
    parser.read(Path(sbas_selector.__file__).parent / "metadata.txt")
    general = parser["general"]
    for key in ("name", "qgisMinimumVersion", "description", "about", "version", "author",
                "email", "repository", "tracker", "homepage", "category", "tags", "icon",
                "hasProcessingProvider"):
        assert general.get(key), key
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["category"] == "Raster" and general["hasProcessingProvider"] == "yes"
    assert (Path(sbas_selector.__file__).parent / general["icon"]).is_file()


def test_init_gui_adds_dock_menu_and_provider(plugin, iface):
    from qgis.core import QgsApplication

    iface.addDockWidget.assert_called_once()
    menu_entries = [call.args[1].text() for call in iface.addPluginToRasterMenu.call_args_list]
    assert menu_entries == ["SBAS Interferogram Selector", "Load sample stack",
                            "Check Python dependencies…", "Help"]
    assert plugin.dock is not None and plugin.dock.objectName() == "SbasSelectorDock"
    assert QgsApplication.processingRegistry().providerById("sbas_selector") is not None


def test_unload_removes_everything(iface):
    from qgis.core import QgsApplication

    import sbas_selector

    instance = sbas_selector.classFactory(iface)
    instance.initGui()
    instance.unload()
    iface.removeDockWidget.assert_called_once()
    assert iface.removePluginRasterMenu.call_count == iface.addPluginToRasterMenu.call_count == 4
    assert QgsApplication.processingRegistry().providerById("sbas_selector") is None


def test_dock_opens_real_stack_in_background_task(plugin, real_stack_path, wait_for):
    opened = []
    plugin.dock.stack_opened.connect(opened.append)
    plugin.dock.open_stack(str(real_stack_path))
    wait_for(lambda: opened)
    stack = opened[0]
    assert (stack.n_dates, stack.n_pairs) == (13, 30)
    assert "30 pairs" in plugin.dock.status_label.text()
    assert "20180106_20180130" in plugin.dock.summary_text.toPlainText()
    assert plugin.dock.open_folder_button.isEnabled()


def test_dock_reports_bad_stack_in_message_bar_and_stays_usable(plugin, iface, tmp_path,
                                                                 wait_for):
    task = plugin.dock.open_stack(str(tmp_path))
    wait_for(lambda: plugin.dock._task is None)
    assert task.exception is not None
    iface.messageBar.return_value.pushMessage.assert_called()
    _title, text = iface.messageBar.return_value.pushMessage.call_args.args[:2]
    assert str(tmp_path) in text and "no interferogram stack" in text
    assert plugin.dock.open_folder_button.isEnabled()
    assert plugin.dock.stack is None


def test_processing_stack_info(plugin, real_stack_path, tmp_path):
    import processing

    out = tmp_path / "summary.json"
    result = processing.run("sbas_selector:stack_info",
                            {"STACK": str(real_stack_path), "OUTPUT": str(out)})
    assert result["N_PAIRS"] == 30 and result["N_DATES"] == 13
    assert json.loads(out.read_text())["pairs"][0]["pair_id"] == "20180106_20180130"


def test_processing_stack_info_bad_folder_raises(plugin, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    with pytest.raises(QgsProcessingException, match="no interferogram stack"):
        processing.run("sbas_selector:stack_info",
                       {"STACK": str(tmp_path), "OUTPUT": str(tmp_path / "x.json")})
