"""The dialog that names missing Python packages, shows how to install them for QGIS's own
Python, and installs them into the user's site-packages with a live log."""

from __future__ import annotations

import html
import re
import tempfile
from pathlib import Path

from qgis.PyQt.QtCore import QProcess, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..core.dependencies import (
    Missing,
    activate_user_site,
    blas_advice,
    find_missing,
    install_arguments,
    manual_commands,
    numpy_pin,
    pip_names,
    qgis_python,
)


class DependenciesDialog(QDialog):
    """Non-modal: QGIS stays usable while it is open. Emits :attr:`resolved` once nothing
    required is missing any more."""

    resolved = pyqtSignal()

    def __init__(self, missing: list[Missing], parent: QWidget | None = None,
                 check_at_start: bool = True) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("SBAS Selector: Python packages to install"))
        self.setObjectName("SbasDependenciesDialog")
        self.setModal(False)
        self.resize(760, 560)
        self.missing = missing
        self.process: QProcess | None = None
        self._constraints: Path | None = None
        layout = QVBoxLayout(self)
        self.summary_label = QLabel(self)
        self.summary_label.setWordWrap(True)
        layout.addWidget(self.summary_label)
        layout.addWidget(QLabel(self.tr("Or type the command yourself (QGIS's own Python; "
                                        "restart QGIS afterwards):"), self))
        self.commands_text = QPlainTextEdit(self)
        self.commands_text.setReadOnly(True)
        layout.addWidget(self.commands_text)
        self.install_button = QPushButton(self.tr("Install for me"), self)
        self.install_button.setToolTip(self.tr("pip install --user into QGIS's Python, "
                                               "keeping its numpy"))
        self.check_button = QPushButton(self.tr("Check again"), self)
        self.log_text = QPlainTextEdit(self)
        self.log_text.setReadOnly(True)
        self.log_text.setPlaceholderText(self.tr("The installer's output appears here."))
        layout.addWidget(self.log_text)
        self.at_start_check = QCheckBox(self.tr("Check at QGIS start"), self)
        self.at_start_check.setChecked(check_at_start)
        layout.addWidget(self.at_start_check)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.addButton(self.install_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.check_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.install_button.clicked.connect(self.install)
        self.check_button.clicked.connect(self.check_again)
        self._show_missing()

    # ---- what is missing -------------------------------------------------------------------
    def _show_missing(self) -> None:
        advice = blas_advice()
        # (the advice marks a command with backticks, as a terminal shows it: code here)
        advice_html = ("" if advice is None else "<p>" + re.sub(
            r"`([^`]*)`", r"<code>\1</code>", html.escape(advice)) + "</p>")
        if not self.missing:
            self.summary_label.setText(
                html.escape(self.tr("Every package the plugin needs is installed."))
                + advice_html)
            self.commands_text.setPlainText("")
            self.install_button.setEnabled(False)
            return
        items = "".join(
            f"<li><b>{html.escape(m.requirement.module)}</b>: "
            f"{html.escape(m.requirement.needed_for)}"
            f"{'' if m.requirement.required else html.escape(self.tr(' (optional)'))}"
            f" &mdash; {html.escape(m.reason)}</li>" for m in self.missing)
        self.summary_label.setText(
            self.tr("The plugin is loaded, but QGIS's Python lacks:") + f"<ul>{items}</ul>"
            + html.escape(self.tr("Python used by QGIS: {}").format(qgis_python()))
            + advice_html)
        packages = pip_names(self.missing)
        self.commands_text.setPlainText("\n\n".join(
            f"{platform}:\n    {command}"
            for platform, command in manual_commands(packages).items()))
        self.install_button.setEnabled(self.process is None)

    def check_again(self) -> list[Missing]:
        """Look again (after an install here or elsewhere); closes the dialog once nothing
        required is missing."""
        activate_user_site()
        self.missing = find_missing()
        self._show_missing()
        if not any(m.requirement.required for m in self.missing):
            self.resolved.emit()
            if not self.missing:
                self.accept()
        return self.missing

    # ---- installing ------------------------------------------------------------------------
    def install(self, arguments: list[str] | None = None) -> QProcess | None:
        """Run pip for the missing packages (or ``arguments``) in a QProcess; its output is
        appended to the log as plain text as it comes."""
        if self.process is not None or not (self.missing or arguments):
            return None
        if arguments is None:
            pin = numpy_pin()
            constraints = None
            if pin:
                handle = tempfile.NamedTemporaryFile("w", suffix="-constraints.txt",
                                                     delete=False)
                with handle:
                    handle.write(pin + "\n")
                self._constraints = Path(handle.name)
                constraints = handle.name
            arguments = install_arguments(pip_names(self.missing), constraints_file=constraints)
        self.log_text.appendPlainText("$ " + " ".join(arguments))
        process = QProcess(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.readyReadStandardOutput.connect(self._read_output)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        self.process = process
        self.install_button.setEnabled(False)
        process.start(arguments[0], arguments[1:])
        return process

    def _read_output(self) -> None:
        if self.process is None:
            return
        text = bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        for line in text.splitlines():
            self.log_text.appendPlainText(line)  # plain text: nothing is interpreted as HTML

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.log_text.appendPlainText(self.tr("Could not start the installer: {}").format(
                self.process.errorString() if self.process else ""))
            self._done()

    def _finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self._read_output()
        if code == 0:
            self.log_text.appendPlainText(self.tr("Installed."))
        else:
            self.log_text.appendPlainText(self.tr(
                "The installer failed (exit code {}); the command above shows what ran.")
                .format(code))
        self._done()
        self.check_again()

    def _done(self) -> None:
        self.process = None
        if self._constraints is not None:
            self._constraints.unlink(missing_ok=True)
            self._constraints = None
        self.install_button.setEnabled(bool(self.missing))
