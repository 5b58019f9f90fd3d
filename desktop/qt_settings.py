"""QtSettingsDialog: device, tile size, output format and quality, saved per user on OK."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

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
        available_text = ", ".join(available) or "none"
        if in_use:
            self.in_use.setText(f"In use: {in_use}   (available: {available_text})")
        else:
            self.in_use.setText(f"In use: shown after the first run   (available: {available_text})")

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
        form.addRow("Device:", self.device)
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

    def apply(self) -> None:
        self.settings.device = str(self.device.currentData())
        self.settings.tile_size = self.tile_size.value()
        self.settings.output_format = str(self.output_format.currentData())
        self.settings.quality = self.quality.value()
        self.settings.save(self._path)

    def accept(self) -> None:
        self.apply()
        super().accept()
