"""The dependency dialog, the sample stack button, the help pages and the inference line of the
dock, headless."""

from __future__ import annotations

import sys

import pytest

from sbas_selector.core.dependencies import REQUIREMENTS, Missing


def _onnxruntime_missing():
    return [Missing(REQUIREMENTS[0], "not installed")]


def test_dialog_names_what_is_missing_and_the_commands(qgis_app):
    from sbas_selector.ui.dependencies_dialog import DependenciesDialog

    dialog = DependenciesDialog(_onnxruntime_missing())
    text = dialog.summary_label.text()
    assert "onnxruntime" in text and "classifying interferograms" in text
    commands = dialog.commands_text.toPlainText()
    for platform in ("Linux", "Windows", "macOS"):
        assert platform in commands
    assert "pip install --user" in commands and "numpy==" in commands
    assert dialog.install_button.isEnabled()


@pytest.mark.parametrize("serial", [True, False])
def test_dialog_advises_openblas_where_numpy_runs_the_reference_blas(qgis_app, serial,
                                                                     monkeypatch):
    """As `sbas-selector doctor` does: with or without a missing package."""
    from sbas_selector.core import blas
    from sbas_selector.ui.dependencies_dialog import DependenciesDialog

    monkeypatch.setattr(blas, "serial_blas", lambda: serial)
    for missing in (_onnxruntime_missing(), []):
        dialog = DependenciesDialog(missing)
        text = dialog.summary_label.text()
        assert ("<code>sudo apt install libopenblas0-pthread</code>" in text) is serial
        assert "`" not in text  # the terminal's backticks, shown as code
        dialog.close()


def test_install_log_is_live_plain_text_and_a_recheck_closes_the_dialog(qgis_app, wait_for):
    from sbas_selector.ui.dependencies_dialog import DependenciesDialog

    dialog = DependenciesDialog(_onnxruntime_missing())
    dialog.show()
    resolved = []
    dialog.resolved.connect(lambda: resolved.append(True))
    # A stand-in for pip (no network in tests): prints markup that must stay text.
    process = dialog.install([sys.executable, "-c",
                              "print('Collecting <b>onnxruntime</b> &amp; co')"])
    assert process is not None and not dialog.install_button.isEnabled()
    wait_for(lambda: dialog.process is None, 30)
    log = dialog.log_text.toPlainText()
    assert "Collecting <b>onnxruntime</b> &amp; co" in log  # shown literally, not rendered
    assert "Installed." in log
    # onnxruntime is importable in the test venv: the re-check after the install finds
    # nothing missing, says so and closes the dialog.
    assert resolved and not dialog.isVisible()
    assert "Every package" in dialog.summary_label.text()


def test_a_failing_installer_is_reported(qgis_app, wait_for):
    from sbas_selector.ui.dependencies_dialog import DependenciesDialog

    dialog = DependenciesDialog(_onnxruntime_missing())
    dialog.install([sys.executable, "-c", "import sys; print('no network'); sys.exit(3)"])
    wait_for(lambda: dialog.process is None, 30)
    assert "failed (exit code 3)" in dialog.log_text.toPlainText()
    dialog.install(["/nonexistent/python3", "-m", "pip"])
    wait_for(lambda: dialog.process is None, 30)
    assert "Could not start the installer" in dialog.log_text.toPlainText()


def test_plugin_checks_quietly_when_nothing_is_missing(plugin):
    assert plugin.check_dependencies() is None  # the venv has everything
    dialog = plugin.check_dependencies(always=True)  # the menu entry always shows it
    assert dialog is not None and "Every package" in dialog.summary_label.text()
    dialog.close()


def test_dock_says_where_inference_will_run(plugin, wait_for):
    dock = plugin.dock
    wait_for(lambda: "not run yet" not in dock.provider_label.text(), 30)
    assert dock.provider_label.text().startswith("Inference: CPU: ")  # no GPU here
    dock.device_combo.setCurrentIndex(dock.device_combo.findData("cpu"))
    assert dock.provider_label.text() == "Inference: CPU: CPU requested"


def test_sample_button_opens_the_bundled_stack(plugin, wait_for):
    dock = plugin.dock
    opened = []
    dock.stack_opened.connect(opened.append)
    dock.sample_button.click()
    wait_for(lambda: opened, 60)
    assert opened[0].n_pairs == 30 and opened[0].path.name == "mexico_city_cropA"


def test_help_buttons_open_the_workflow_pages(plugin):
    from qgis.PyQt.QtWidgets import QToolButton

    dock = plugin.dock
    pages = {b.objectName() for b in dock.findChildren(QToolButton)
             if b.objectName().startswith("help_")}
    assert pages == {"help_open", "help_classify", "help_review", "help_invert",
                     "help_repair"}
    for page, phrase in (("classify", "Classify"), ("invert", "velocity"),
                         ("review", "baseline graph"), ("open", "HyP3"),
                         ("repair", "triplet closure")):
        dialog = dock.show_help(page)
        assert dialog.browser.source().toLocalFile().endswith(f"docs/{page}.md")
        assert phrase in dialog.browser.toPlainText()
    dialog.close()
