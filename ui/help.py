"""The plugin's documentation pages (``docs/*.md``, shipped in the package) in a browser
dialog: Qt renders Markdown itself, so the pages need no build step and links between them
work offline."""

from __future__ import annotations

from pathlib import Path

from qgis.PyQt.QtCore import QUrl
from qgis.PyQt.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

DOCS = Path(__file__).resolve().parents[1] / "docs"


def help_page(page: str) -> Path:
    """``docs/<page>.md`` (the index where the page does not exist)."""
    path = DOCS / f"{page}.md"
    return path if path.is_file() else DOCS / "README.md"


class HelpDialog(QDialog):
    """One documentation page, with its links followed inside the dialog."""

    def __init__(self, page: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("SBAS Selector help"))
        self.setObjectName("SbasHelpDialog")
        self.resize(820, 680)
        layout = QVBoxLayout(self)
        self.browser = QTextBrowser(self)
        self.browser.setOpenExternalLinks(True)
        self.browser.setSearchPaths([str(DOCS)])
        layout.addWidget(self.browser)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        self.back_button = QPushButton(self.tr("◀ Back"), self)
        self.forward_button = QPushButton(self.tr("Forward ▶"), self)
        for button in (self.back_button, self.forward_button):
            button.setEnabled(False)
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        self.back_button.clicked.connect(self.browser.backward)
        self.forward_button.clicked.connect(self.browser.forward)
        self.browser.backwardAvailable.connect(self.back_button.setEnabled)
        self.browser.forwardAvailable.connect(self.forward_button.setEnabled)
        layout.addWidget(buttons)
        self.show_page(page)

    def show_page(self, page: str) -> None:
        self.browser.setSource(QUrl.fromLocalFile(str(help_page(page))))
