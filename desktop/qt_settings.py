"""QtSettingsDialog: device, tile size, output format and quality, saved per user on OK."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.qt_workers import QtCallWorker, start
from desktop.settings import DEVICES, OUTPUT_FORMATS, AppSettings

_DEVICE_NAMES = {
    "auto": "Auto (CUDA → DirectML → CPU)",
    "cuda": "CUDA (NVIDIA)",
    "directml": "DirectML (Windows)",
    "cpu": "CPU",
}
_FORMAT_NAMES = {"same": "Same as the original", "JPEG": "JPEG", "PNG": "PNG", "TIFF": "TIFF", "WEBP": "WebP"}


def available_devices() -> list[str]:
    """What ONNX Runtime offers here; a broken runtime must not stop the dialog from opening."""
    try:
        from engine.runtime import available_devices as engine_devices

        return list(engine_devices())
    except Exception:  # noqa: BLE001
        return ["cpu"]


class QtSettingsDialog(QDialog):
    """Edits an AppSettings; `accept()` writes the file (at `path`, default the per-user one)."""

    def __init__(
        self,
        settings: AppSettings,
        *,
        in_use: str | None = None,
        path: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("PhotoMend settings")
        self.settings = settings
        self._path = path
        available = available_devices()

        self.device = QComboBox()
        for device in DEVICES:
            usable = device == "auto" or device in available
            label = _DEVICE_NAMES[device] + ("" if usable else " — not available here")
            self.device.addItem(label, device)
            if not usable:
                # A run on a device that is not there fails with DeviceError: grey it out.
                self.device.model().item(self.device.count() - 1).setEnabled(False)  # type: ignore[attr-defined]
        self.device.setCurrentIndex(max(0, self.device.findData(settings.device)))

        self.in_use = QLabel()
        self.in_use.setWordWrap(True)
        self._available_text = ", ".join(available) or "none"
        if in_use:
            self.in_use.setText(f"In use: {in_use}   (available: {self._available_text})")
        else:
            self.in_use.setText(f"In use: not measured yet   (available: {self._available_text})")
        self.check_button = QPushButton("Check")
        self.check_button.setToolTip(
            "Load the restore model on the chosen device and show what ONNX Runtime uses"
        )
        self.check_button.clicked.connect(self.check_device)
        device_row = QHBoxLayout()
        device_row.addWidget(self.device, 1)
        device_row.addWidget(self.check_button)

        self.tile_size = QSpinBox()
        self.tile_size.setRange(0, 4096)
        self.tile_size.setSingleStep(64)
        self.tile_size.setSpecialValueText("Auto (by device)")
        self.tile_size.setSuffix(" px")
        self.tile_size.setValue(settings.tile_size)
        self.tile_size.setToolTip(
            "Smaller tiles use less memory; the engine halves them itself on out-of-memory"
        )

        self.output_format = QComboBox()
        for name in OUTPUT_FORMATS:
            self.output_format.addItem(_FORMAT_NAMES[name], name)
        self.output_format.setCurrentIndex(max(0, self.output_format.findData(settings.output_format)))

        self.quality = QSpinBox()
        self.quality.setRange(1, 100)
        self.quality.setValue(settings.quality)
        self.quality.setToolTip("JPEG and WebP quality")

        form = QFormLayout()
        form.addRow("Device:", device_row)
        form.addRow("", self.in_use)
        form.addRow("Tile size:", self.tile_size)
        form.addRow("Output format:", self.output_format)
        form.addRow("Quality:", self.quality)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def check_device(self) -> None:
        """Ask the engine which device a session really gets (loads the model once, in the background)."""
        device = str(self.device.currentData())
        self.check_button.setEnabled(False)
        self.in_use.setText("Checking…")
        worker = QtCallWorker(lambda: _probe(device))
        worker.signals.finished.connect(self._checked)
        worker.signals.failed.connect(self._checked)
        start(worker)

    def _checked(self, text: str) -> None:
        self.check_button.setEnabled(True)
        self.in_use.setText(f"{text}   (available: {self._available_text})")

    def apply(self) -> None:
        self.settings.device = str(self.device.currentData())
        self.settings.tile_size = self.tile_size.value()
        self.settings.output_format = str(self.output_format.currentData())
        self.settings.quality = self.quality.value()
        self.settings.save(self._path)

    def accept(self) -> None:
        self.apply()
        super().accept()


def _probe(device: str) -> str:
    from engine.runtime import device_report

    report = device_report(None if device == "auto" else device, probe=True)
    for model in report.get("models", []):
        if model.get("id") == "restore":
            if model.get("device"):
                return f"In use: {model['device']} ({', '.join(model.get('providers', []))})"
            return f"Not usable: {model.get('message') or 'restore model missing'}"
    warnings = "; ".join(report.get("warnings", []))
    return f"Would use: {report.get('device')}" + (f" — {warnings}" if warnings else "")
