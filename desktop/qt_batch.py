"""QtBatchPanel: the batch queue (thumbnails, per-item status and progress), cull mode, start/pause/cancel.

The queue itself is plain data (desktop.queue_state.BatchQueue) written to JSON after every change,
so closing the app mid-run and opening it again resumes with the items that were not finished.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QDragEnterEvent, QDropEvent, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop import queue_state as qs
from desktop.qt_images import dropped_paths, thumbnail_image
from desktop.qt_signals import emit
from desktop.qt_workers import BatchJob, QtBatchWorker, QtCallWorker, start
from desktop.settings import AppSettings

THUMB_SIDE = 56
COLUMNS = ("Photo", "Instruction", "Status", "Progress")
COL_PHOTO, COL_INSTRUCTION, COL_STATUS, COL_PROGRESS = range(4)
_STATUS_COLOURS = {
    qs.DONE: QColor(46, 139, 87),
    qs.FAILED: QColor(192, 57, 43),
    qs.RUNNING: QColor(41, 128, 185),
    qs.SKIPPED: QColor(120, 120, 120),
    qs.CANCELLED: QColor(160, 110, 20),
}
UNITS = QModelIndex | QPersistentModelIndex
_FORMAT_EXT = {"JPEG": "jpg", "PNG": "png", "TIFF": "tif", "WEBP": "webp"}


class QtQueueModel(QAbstractTableModel):
    """A table over BatchQueue.items; the instruction column is editable (per-item instruction)."""

    changed = Signal()

    def __init__(self, queue: qs.BatchQueue, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.queue = queue
        self._thumbs: dict[str, QPixmap] = {}

    def rowCount(self, parent: UNITS = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.queue.items)

    def columnCount(self, parent: UNITS = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802, ANN201
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: UNITS) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.column() == COL_INSTRUCTION:
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index: UNITS, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201, C901
        if not index.isValid():
            return None
        item = self.queue.items[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == COL_PHOTO:
                extra = ""
                if item.sharpness is not None:
                    extra = f"\nsharpness {item.sharpness:.1f}"
                return item.name + extra
            if column == COL_INSTRUCTION:
                return item.instruction or f"(queue) {self.queue.instruction}".rstrip()
            if column == COL_STATUS:
                return status_text(item)
            if column == COL_PROGRESS:
                return round(item.progress * 100)
        if role == Qt.ItemDataRole.EditRole and column == COL_INSTRUCTION:
            return item.instruction
        if role == Qt.ItemDataRole.DecorationRole and column == COL_PHOTO:
            thumb = self._thumbs.get(item.id)
            if thumb is None and item.status == qs.FAILED:
                icon = QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
                return icon.pixmap(THUMB_SIDE // 2, THUMB_SIDE // 2)
            return thumb
        if role == Qt.ItemDataRole.ToolTipRole:
            return item.reason or item.output or item.path
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == COL_STATUS and item.status in _STATUS_COLOURS:
                return QBrush(_STATUS_COLOURS[item.status])
            if column == COL_INSTRUCTION and not item.instruction:
                return QBrush(QColor(130, 130, 130))
        if role == Qt.ItemDataRole.BackgroundRole and item.blurry:
            return QBrush(QColor(192, 57, 43, 40))
        return None

    def setData(self, index: UNITS, value: object, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if index.column() != COL_INSTRUCTION or role != Qt.ItemDataRole.EditRole:
            return False
        item = self.queue.items[index.row()]
        item.instruction = str(value).strip()
        if item.status in (qs.DONE, qs.FAILED, qs.SKIPPED):
            item.status, item.reason, item.progress = qs.PENDING, "", 0.0  # new instruction: run it again
        emit(self.dataChanged, self.index(index.row(), 0), self.index(index.row(), len(COLUMNS) - 1))
        emit(self.changed)
        return True

    # --- queue edits ---------------------------------------------------------------------------
    def add_paths(self, paths: list[Path]) -> list[qs.QueueItem]:
        first = len(self.queue.items)
        added = self.queue.add_paths(paths)
        if added:
            # The items are already appended to the queue; tell the views in one go.
            self.beginInsertRows(QModelIndex(), first, first + len(added) - 1)
            self.endInsertRows()
            emit(self.changed)
        return added

    def remove_rows(self, rows: list[int]) -> None:
        for row in sorted(set(rows), reverse=True):
            if self.queue.items[row].status == qs.RUNNING:
                continue
            self.beginRemoveRows(QModelIndex(), row, row)
            del self.queue.items[row]
            self.endRemoveRows()
        emit(self.changed)

    def clear_finished(self) -> None:
        rows = [i for i, item in enumerate(self.queue.items) if item.status in (qs.DONE, qs.SKIPPED)]
        self.remove_rows(rows)

    def refresh(self) -> None:
        self.beginResetModel()
        self.endResetModel()
        emit(self.changed)

    def row_of(self, item_id: str) -> int:
        return next((i for i, item in enumerate(self.queue.items) if item.id == item_id), -1)

    def update_item(self, item_id: str, **changes: object) -> None:
        row = self.row_of(item_id)
        if row < 0:
            return
        item = self.queue.items[row]
        for name, value in changes.items():
            setattr(item, name, value)
        emit(self.dataChanged, self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        if "progress" not in changes or len(changes) > 1:
            emit(self.changed)  # progress ticks alone are not worth a disk write

    def set_thumbnail(self, item_id: str, pixmap: QPixmap | None) -> None:
        row = self.row_of(item_id)
        if row < 0 or pixmap is None:
            return
        self._thumbs[item_id] = pixmap
        emit(self.dataChanged, self.index(row, COL_PHOTO), self.index(row, COL_PHOTO))

    def has_thumbnail(self, item_id: str) -> bool:
        return item_id in self._thumbs


def status_text(item: qs.QueueItem) -> str:
    text = item.status
    if item.status == qs.FAILED and item.reason:
        # The engine's reason starts with the full path: the row already names the file.
        reason = item.reason.replace(item.path, "").lstrip(": ").strip() or item.reason
        text = f"failed: {reason}"
    elif item.status == qs.SKIPPED and item.reason:
        text = f"skipped: {item.reason}"
    elif item.status == qs.DONE and item.output:
        text = f"done → {Path(item.output).name}"
        if item.reason:  # what the run found, e.g. "Found an even out-of-focus blur (...) and undid it."
            text += f" · {item.reason}"
    if item.blurry:
        kind = f", {item.blur_kind}" if item.blur_kind and item.blur_kind != "sharp" else ""
        text = f"BLURRY{kind} · {text}"
    return text


class QtProgressDelegate(QStyledItemDelegate):
    """Draws the progress column as a horizontal progress bar."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: UNITS) -> None:
        value = index.data(Qt.ItemDataRole.DisplayRole)
        bar = QStyleOptionProgressBar()
        if option.widget is not None:
            bar.initFrom(option.widget)  # palette, font, direction
        bar.rect = QRect(
            option.rect.adjusted(6, option.rect.height() // 2 - 9, -6, -(option.rect.height() // 2 - 9))
        )
        bar.minimum, bar.maximum = 0, 100
        bar.progress = int(value or 0)
        bar.text = f"{bar.progress}%"
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        # Qt 6 reads a bar's orientation from State_Horizontal alone: without it the style drew a vertical
        # bar in a horizontal box, its fill rising from the bottom (the "bar drawn twice, offset").
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


class QtBatchPanel(QWidget):
    """The batch tab: a queue you drop files and folders on, options, and start / pause / cancel."""

    queueFinished = Signal(str)  # noqa: N815  summary line
    messageChanged = Signal(str)  # noqa: N815

    def __init__(
        self,
        settings: AppSettings | None = None,
        *,
        queue_file: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.settings = settings or AppSettings()
        self._queue_file = queue_file or qs.queue_path()
        self.queue = qs.BatchQueue.load(self._queue_file)
        self.model = QtQueueModel(self.queue, self)
        self._worker: QtBatchWorker | None = None
        self._culling = 0

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(COL_PROGRESS, QtProgressDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setIconSize(QSize(THUMB_SIDE, THUMB_SIDE))
        self.table.verticalHeader().setDefaultSectionSize(THUMB_SIDE + 8)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_PHOTO, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_INSTRUCTION, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_STATUS, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_PROGRESS, QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(COL_PHOTO, 250)
        self.table.setColumnWidth(COL_INSTRUCTION, 230)
        self.table.setColumnWidth(COL_PROGRESS, 130)
        self.table.setWordWrap(False)

        self.instruction = QLineEdit(self.queue.instruction)
        self.instruction.setPlaceholderText(
            "Instruction for every item (double-click an item's cell for its own)"
        )
        self.output_dir = QLineEdit(self.queue.output_dir)
        self.output_dir.setPlaceholderText("Output folder")
        browse = QPushButton("Browse…")
        self.pattern = QLineEdit(self.queue.pattern)
        self.pattern.setToolTip("{stem}: name without extension, {ext}: extension, {name}: full name")
        self.cull_mode = QCheckBox("Cull mode: sort dropped folders by sharpness and mark blurry shots")

        add_files = QPushButton("Add photos…")
        add_folder = QPushButton("Add folder…")
        remove = QPushButton("Remove")
        clear = QPushButton("Clear finished")
        self.cull_button = QPushButton("Sort by sharpness")
        self.start_button = QPushButton("&Start")  # Alt+S, Alt+U, Alt+N while the tab shows
        self.pause_button = QPushButton("Pa&use")
        self.cancel_button = QPushButton("Ca&ncel")
        self.overall = QProgressBar()
        self.overall.setFormat("%v / %m photos")
        self.message = QLabel()
        self.message.setWordWrap(True)

        output_row = QHBoxLayout()
        output_row.addWidget(self.output_dir, 1)
        output_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Instruction:", self.instruction)
        form.addRow("Output folder:", output_row)
        form.addRow("Naming:", self.pattern)
        edit_row = QHBoxLayout()
        for button in (add_files, add_folder, remove, clear, self.cull_button):
            edit_row.addWidget(button)
        edit_row.addStretch(1)
        edit_row.addWidget(self.cull_mode)
        run_row = QHBoxLayout()
        run_row.addWidget(self.start_button)
        run_row.addWidget(self.pause_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.overall, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(edit_row)
        layout.addWidget(self.table, 1)
        layout.addLayout(form)
        layout.addLayout(run_row)
        layout.addWidget(self.message)

        add_files.clicked.connect(self._browse_files)
        add_folder.clicked.connect(self._browse_folder)
        remove.clicked.connect(self._remove_selected)
        clear.clicked.connect(self.model.clear_finished)
        browse.clicked.connect(self._browse_output)
        self.cull_button.clicked.connect(lambda: self.cull())
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.pause)
        self.cancel_button.clicked.connect(self.cancel)
        self.instruction.editingFinished.connect(self._options_edited)
        self.output_dir.editingFinished.connect(self._options_edited)
        self.pattern.editingFinished.connect(self._options_edited)
        self.model.changed.connect(self.save)
        self.model.changed.connect(self._update_overall)
        self._update_buttons()
        self._update_overall()
        # A saved queue's failed items (a truncated or unreadable file) keep their warning icon: decoding
        # them again at every start only printed the decoder's complaints to the console.
        self._load_thumbnails([item for item in self.queue.items if item.status != qs.FAILED])
        if self.queue.runnable() and any(i.status != qs.PENDING or i.output for i in self.queue.items):
            self._say(
                f"{len(self.queue.runnable())} photos left from the last session — press Start to resume."
            )

    # --- queue ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._worker is not None

    def save(self) -> None:
        self.queue.save(self._queue_file)

    def add_paths(self, paths: list[Path], *, cull: bool | None = None) -> list[qs.QueueItem]:
        added = self.model.add_paths([Path(p) for p in paths])
        self._load_thumbnails(added)
        self._say(
            f"Added {len(added)} photo(s)." if added else "Nothing new to add (already queued or not photos)."
        )
        if added and (
            cull if cull is not None else self.cull_mode.isChecked() and any(Path(p).is_dir() for p in paths)
        ):
            self.cull(added)
        return added

    def _load_thumbnails(self, items: list[qs.QueueItem]) -> None:
        for item in items:
            if self.model.has_thumbnail(item.id):
                continue
            path, item_id = item.path, item.id
            # Decoding in the pool keeps a big drop from freezing the window; pixmaps are made here.
            worker = QtCallWorker(lambda path=path: thumbnail_image(path, THUMB_SIDE))
            worker.signals.finished.connect(
                lambda image, item_id=item_id: self.model.set_thumbnail(
                    item_id, QPixmap.fromImage(image) if image is not None else None
                )
            )
            start(worker)

    def _options_edited(self) -> None:
        self.queue.instruction = self.instruction.text().strip()
        self.queue.output_dir = self.output_dir.text().strip()
        self.queue.pattern = self.pattern.text().strip() or qs.DEFAULT_PATTERN
        emit(
            self.model.dataChanged,
            self.model.index(0, COL_INSTRUCTION),
            self.model.index(max(0, len(self.queue.items) - 1), COL_INSTRUCTION),
        )
        self.save()

    def set_options(
        self,
        *,
        instruction: str | None = None,
        output_dir: Path | str | None = None,
        pattern: str | None = None,
    ) -> None:
        if instruction is not None:
            self.instruction.setText(instruction)
        if output_dir is not None:
            self.output_dir.setText(str(output_dir))
        if pattern is not None:
            self.pattern.setText(pattern)
        self._options_edited()

    # --- run -----------------------------------------------------------------------------------
    def start(self) -> bool:
        """Run every pending item; returns False (with a message) when it cannot start."""
        if self.running:
            return False
        self._options_edited()
        if not self.queue.output_dir:
            self._say("Choose an output folder first.", warning=True)
            return False
        jobs = []
        for item in self.queue.runnable():
            instruction = self.queue.instruction_for(item)
            jobs.append(BatchJob(item.id, Path(item.path), instruction))
            self.model.update_item(item.id, status=qs.PENDING, reason="", progress=0.0)
        if not jobs:
            self._say("Nothing to run: add photos, or every item is finished.")
            return False
        pattern = self.queue.pattern
        if self.settings.engine_format:
            # The output-format setting applies to batches too: the engine writes by suffix.
            pattern = pattern.replace("{ext}", _FORMAT_EXT.get(self.settings.engine_format, "{ext}"))
        worker = QtBatchWorker(
            jobs,
            Path(self.queue.output_dir).expanduser(),
            pattern=pattern,
            strength=self.queue.strength,
            device=self.settings.engine_device,
            tile_size=self.settings.engine_tile_size,
        )
        worker.signals.itemStarted.connect(self._item_started)
        worker.signals.itemProgress.connect(self._item_progress)
        worker.signals.itemFinished.connect(self._item_finished)
        worker.signals.queueFinished.connect(self._queue_finished)
        self._worker = worker
        self._update_buttons()
        self._say(f"Running {len(jobs)} photo(s)…")
        start(worker)
        return True

    def pause(self) -> None:
        """Finish the photo being restored, then stop; Start resumes with the rest."""
        if self._worker is not None:
            self._worker.pause()
            self._say("Pausing after the current photo…")

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._say("Cancelling…")

    def _item_started(self, item_id: str) -> None:
        self.model.update_item(item_id, status=qs.RUNNING, reason="", progress=0.0)
        row = self.model.row_of(item_id)
        if row >= 0:
            self.table.scrollTo(self.model.index(row, 0))

    def _item_progress(self, item_id: str, fraction: float, _stage: str) -> None:
        self.model.update_item(item_id, progress=float(fraction))

    def _item_finished(self, item_id: str, status: str, reason: str, output: str) -> None:
        progress = 1.0 if status in (qs.DONE, qs.SKIPPED) else 0.0
        if status == qs.CANCELLED:
            status = qs.PENDING  # not done: it runs again on the next Start
        self.model.update_item(item_id, status=status, reason=reason, output=output, progress=progress)
        self._update_overall()

    def _queue_finished(self, summary: str) -> None:
        self._worker = None
        self._update_buttons()
        counts = {status: sum(1 for i in self.queue.items if i.status == status) for status in qs.STATUSES}
        text = f"{counts[qs.DONE]} done, {counts[qs.FAILED]} failed, {counts[qs.SKIPPED]} skipped"
        if counts[qs.PENDING]:
            text += f", {counts[qs.PENDING]} waiting"
        if summary:
            text = f"{summary[0].upper()}{summary[1:]} — {text}"
        self._say(text, warning=bool(counts[qs.FAILED]) or summary not in ("", "paused", "cancelled"))
        self.save()
        emit(self.queueFinished, text)

    # --- cull ----------------------------------------------------------------------------------
    def cull(self, items: list[qs.QueueItem] | None = None) -> None:
        """Measure sharpness (engine.blur), sort sharpest first and mark the blurry shots."""
        targets = [i for i in (items if items is not None else self.queue.items) if i.sharpness is None]
        if not targets:
            self.queue.sort_by_sharpness()
            self.model.refresh()
            return
        self._culling += len(targets)
        self.cull_button.setEnabled(False)
        self._say(f"Measuring sharpness of {len(targets)} photo(s)…")
        for item in targets:
            worker = QtCallWorker(lambda path=item.path: _measure(path))
            worker.signals.finished.connect(lambda report, item_id=item.id: self._measured(item_id, report))
            worker.signals.failed.connect(
                lambda reason, item_id=item.id: self._measured(item_id, None, reason)
            )
            start(worker)

    def _measured(self, item_id: str, report: object | None, reason: str = "") -> None:
        if report is not None:
            self.model.update_item(
                item_id,
                sharpness=float(report.score),  # type: ignore[attr-defined]
                blurry=bool(report.blurry),  # type: ignore[attr-defined]
                blur_kind=str(report.kind),  # type: ignore[attr-defined]
            )
        else:
            self.model.update_item(item_id, status=qs.FAILED, reason=reason)
        self._culling -= 1
        if self._culling <= 0:
            self._culling = 0
            self.cull_button.setEnabled(True)
            self.queue.sort_by_sharpness()
            self.model.refresh()
            blurry = sum(1 for i in self.queue.items if i.blurry)
            self._say(f"Sorted by sharpness: {blurry} blurry shot(s) marked.")

    # --- helpers -------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        running = self.running
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.cancel_button.setEnabled(running)

    def _update_overall(self) -> None:
        total = len(self.queue.items)
        if not total:
            # A range of 0..1 would read "0 / 1 photos"; 0..0 makes Qt draw a busy bar.
            self.overall.setRange(0, 1)
            self.overall.setValue(0)
            self.overall.setFormat("No photos queued")
            return
        finished = sum(1 for i in self.queue.items if i.status in (qs.DONE, qs.FAILED, qs.SKIPPED))
        self.overall.setRange(0, total)
        self.overall.setValue(finished)
        self.overall.setFormat("%v / %m photos")

    def _say(self, text: str, warning: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #c0392b;" if warning else "")
        emit(self.messageChanged, text)

    def _browse_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add photos", "", photo_filter())
        if files:
            self.add_paths([Path(f) for f in files])

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if folder:
            self.add_paths([Path(folder)])

    def _browse_output(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.output_dir.text())
        if folder:
            self.set_options(output_dir=folder)

    def _remove_selected(self) -> None:
        self.model.remove_rows([index.row() for index in self.table.selectionModel().selectedRows()])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = dropped_paths(event.mimeData())
        if paths:
            self.add_paths(paths)
            event.acceptProposedAction()

    def shutdown(self) -> None:
        """Window closing: stop after the current item and keep the queue for next time."""
        if self._worker is not None:
            self._worker.cancel()
        self.save()


def _measure(path: str) -> object:
    from engine.blur import analyze_blur
    from engine.io import read_photo

    return analyze_blur(read_photo(path).pixels)


def photo_filter() -> str:
    from engine.io import SUPPORTED_SUFFIXES

    patterns = " ".join(f"*{s}" for s in sorted(SUPPORTED_SUFFIXES))
    return f"Photos ({patterns});;All files (*)"
