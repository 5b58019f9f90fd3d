"""`photomend` command line: restore, detect, blur, cull, compare, interpret, info.

The GIMP plug-in's installer is the plug-in's own command, `photomend-gimp` (plugin_gimp/install.py).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from engine import __version__
from engine.errors import Cancelled, DeviceError, InstructionError, ModelError, PhotoMendError, PhotoReadError
from engine.progress import CancelToken

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_UNDERSTOOD = 3
EXIT_MODEL = 4
#: the output folder cannot be written (no space, read-only, no permission, another batch in it): the batch
#: stopped, and the same command resumes it once the cause is fixed
EXIT_OUTPUT = 5
#: Ctrl-C (SIGINT); SIGTERM gives EXIT_TERMINATED: 128 + the signal's number, as a shell reports it
EXIT_CANCELLED = 130
EXIT_TERMINATED = 143


class ProgressBar:
    """A one-line progress bar on a terminal's stderr; silent when stderr is not a terminal."""

    def __init__(self, stream: IO[str] | None = None, width: int = 28) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.width = width
        self._last = 0.0

    def __call__(self, fraction: float, stage: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if fraction < 1.0 and now - self._last < 0.1:
            return
        self._last = now
        filled = int(self.width * min(max(fraction, 0.0), 1.0))
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {fraction * 100:5.1f}%  {stage[:40]:<40}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * (self.width + 52) + "\r")
            self.stream.flush()


class InterruptToken(CancelToken):
    """A CancelToken that remembers which signal set it (0: none)."""

    def __init__(self) -> None:
        super().__init__()
        self.signum = 0


class StopNow(KeyboardInterrupt):
    """A second Ctrl-C or SIGTERM: stop at once (temp files are still removed on the way out)."""

    def __init__(self, signum: int) -> None:
        super().__init__()
        self.signum = signum


#: the signal that last cancelled a command (for a Cancelled raised out of one)
_last_signal = 0


def exit_code_for_signal(signum: int) -> int:
    """130 for Ctrl-C (or none known), 143 for SIGTERM."""
    return EXIT_TERMINATED if signum == signal.SIGTERM else EXIT_CANCELLED


@contextmanager
def cancel_on_interrupt() -> Iterator[InterruptToken]:
    """First Ctrl-C or SIGTERM cancels cleanly between tiles/files; a second one stops at once.

    SIGTERM (what `kill`, systemd and container runtimes send) is handled as Ctrl-C is: the photo being
    written is finished or left absent, the journal stays whole, and the same command resumes the batch.
    """
    token = InterruptToken()
    signals = [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])
    # The terminal as it is now: while a codec decodes, descriptor 2 points at a capture file
    # (engine.io.codec_output), and a message written there would become that photo's note.
    try:
        console: int | None = os.dup(2)
    except OSError:
        console = None

    def handler(signum: int, frame: object) -> None:
        global _last_signal
        if token.cancelled:
            raise StopNow(signum)
        _last_signal = token.signum = signum
        token.cancel()
        again = "Ctrl-C" if signum == signal.SIGINT else "the signal"
        # os.write, not print: a handler that prints while the progress bar is printing would fail.
        with suppress(OSError):
            os.write(
                2 if console is None else console, f"\ncancelling… ({again} again to stop at once)\n".encode()
            )

    previous: dict[int, Any] = {}
    try:
        try:
            for signum in signals:
                previous[signum] = signal.signal(signum, handler)
        except ValueError:  # not the main thread: no signal handling, the token still works
            yield token
            return
        try:
            yield token
        finally:
            for number, old in previous.items():
                signal.signal(number, old)
    finally:
        if console is not None:
            os.close(console)


def shown(text: object) -> str:
    """`text` (a path, a reason naming one) as valid Unicode for printing and JSON: bytes of a file name that
    are not UTF-8 (held by Python as surrogate escapes) appear as \\xNN, never as invalid UTF-8."""
    value = str(text)
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
        return value.encode("utf-8", "backslashreplace").decode("utf-8")


def _json_safe(value: Any) -> Any:
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, dict):
        return {shown(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def _print_json(obj: dict[str, Any]) -> None:
    # Non-ASCII stays readable on a UTF-8 stdout; any other stdout gets \\u escapes, which every JSON reader
    # decodes: the output is valid JSON in valid UTF-8 either way.
    utf8 = (getattr(sys.stdout, "encoding", "") or "").lower().replace("-", "") == "utf8"
    print(json.dumps(_json_safe(obj), ensure_ascii=not utf8, allow_nan=False), flush=True)


def clean_prompt(text: str) -> tuple[str, bool]:
    """`text` as valid Unicode (bytes that were not UTF-8, e.g. from a Latin-1 terminal, become U+FFFD) and
    whether anything had to be replaced: the tokenizer cannot take what is not Unicode text."""
    try:
        text.encode("utf-8")
        return text, False
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace"), True
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8"), True


def _notes(interp: Any) -> list[str]:
    """The restoration model's notes on the tasks an understood instruction asks for."""
    from engine.pipeline import task_notes

    return list(task_notes(interp.tasks)) if interp.understood else []


def _plan(interp: Any) -> Any:
    """The steps the planner makes of an understood instruction (engine.pipeline.make_plan), or None."""
    from engine.pipeline import make_plan

    return make_plan(interp) if interp.understood else None


def _interpretation_dict(interp: Any) -> dict[str, Any]:
    plan = _plan(interp)
    return {
        "text": interp.text,
        "tasks": list(interp.tasks),
        "strength": round(float(interp.strength), 3),
        # tasks asked for at another strength than "strength" ("brighten it a little, remove all the grain")
        "strengths": {task: round(float(value), 3) for task, value in getattr(interp, "strengths", ())},
        "scale": int(getattr(interp, "scale", 1)),
        "target": list(interp.target) if getattr(interp, "target", None) else None,
        "understood": bool(interp.understood),
        "message": interp.message,
        "summary": interp.summary() if interp.understood else "",
        "notes": _notes(interp),
        "plan": [step.as_dict() for step in plan.steps] if plan is not None else [],
    }


def _print_understood(interp: Any, stream: IO[str]) -> None:
    """What an understood instruction asks for, the plan's steps when there are several, and the notes."""
    print(interp.message, file=stream)  # "Understood: <summary>", with a note on what is not done, if any
    _print_plan_and_notes(interp, stream, single_step=False)


def _print_plan_and_notes(interp: Any, stream: IO[str], *, single_step: bool) -> None:
    """ "Plan:" and its numbered steps (a one-step plan only if `single_step`), then the model's notes."""
    plan = _plan(interp)
    if plan is not None and (single_step or len(plan.steps) > 1):
        print("Plan:", file=stream)
        for line in plan.describe():
            print(f"  {line}", file=stream)
    for note in _notes(interp):
        print(f"Note: {note}", file=stream)


def _step_lines(name: str, steps: Any, findings: tuple[str, ...]) -> list[str]:
    """A restored photo's findings, one line each; with several steps, each says which step found it."""
    if len(steps) <= 1:
        return [f"{name}: {finding}" for finding in findings]
    return [
        f"{name}: step {i} ({step.label}, {step.restorer}): {finding}"
        for i, step in enumerate(steps, 1)
        for finding in step.findings
    ]


# --- restore ---


def cmd_restore(args: argparse.Namespace) -> int:
    with cancel_on_interrupt() as cancel:
        return _restore(args, cancel)


def _restore(args: argparse.Namespace, cancel: InterruptToken) -> int:
    from engine.batch import BatchUsageError, ItemEvent, OutputFolderError, run_batch
    from engine.batch.naming import check_pattern
    from engine.batch.runner import check_output_path
    from engine.instructions import Interpretation, interpret

    try:  # the usage errors first: they need no model
        check_pattern(args.pattern)
        check_output_path(Path(args.output))
        _check_ray(args)
    except BatchUsageError as exc:
        if args.json:
            _print_json({"event": "error", "reason": str(exc), "exit": EXIT_USAGE})
        print(f"photomend: {shown(exc)}", file=sys.stderr)
        return EXIT_USAGE
    prompt, replaced = clean_prompt(args.prompt or "")
    if replaced:
        print(
            "photomend: the instruction holds bytes that are not UTF-8 text; they were read as '\ufffd'",
            file=sys.stderr,
        )
    interp: Interpretation | None = None  # no instruction: each photo gets what the detector finds
    if prompt.strip():
        interp = interpret(prompt)  # once, for every photo of the batch
        if args.json:
            _print_json({"event": "interpretation", **_interpretation_dict(interp)})
        if not interp.understood:
            if not args.json:
                print(f"photomend: {interp.message}", file=sys.stderr)
            return EXIT_NOT_UNDERSTOOD
        if not args.json:
            _print_understood(interp, sys.stderr)
    elif not args.json:
        print("No instruction given: each photo gets what the detector finds.", file=sys.stderr)
    if cancel.cancelled:
        return exit_code_for_signal(cancel.signum)

    bar = ProgressBar()

    def on_item(event: ItemEvent) -> None:
        if event.status == "running":
            return
        if args.json:
            _print_json(
                {
                    "event": event.status,
                    "path": str(event.item.source),
                    "output": str(event.item.output),
                    "reason": event.reason,
                    "findings": list(event.findings),
                    "steps": [step.as_dict() for step in event.steps],
                    "note": event.note,
                    "read_notes": list(event.read_notes),
                }
            )
        elif event.status == "failed":
            bar.close()
            print(f"failed: {shown(event.reason)}", file=sys.stderr)
        else:
            if event.findings or event.read_notes:
                bar.close()
            for note in event.read_notes:
                print(f"note: {shown(event.item.source)}: {shown(note)}", file=sys.stderr)
            if event.findings:
                for line in _step_lines(event.item.source.name, event.steps, event.findings):
                    print(shown(line), file=sys.stderr)

    try:
        if args.ray is not None:
            from engine.cluster import run_batch_on_ray

            report = run_batch_on_ray(
                args.inputs,
                interp,
                args.output,  # as typed: an object-store URI is refused, not made a local folder
                pattern=args.pattern,
                strength=args.strength,
                device=args.device,
                tile_size=args.tile_size,
                overwrite=args.overwrite,
                ray=_ray_options(args),
                progress=bar if bar.enabled or args.json else _progress_lines(),
                cancel=cancel,
                on_item=on_item,
            )
        else:
            report = run_batch(
                args.inputs,
                interp,
                Path(args.output),
                pattern=args.pattern,
                strength=args.strength,
                device=args.device,
                tile_size=args.tile_size,
                overwrite=args.overwrite,
                progress=bar,
                cancel=cancel,
                on_item=on_item,
            )
    except (BatchUsageError, OutputFolderError) as exc:
        code = EXIT_USAGE if isinstance(exc, BatchUsageError) else EXIT_OUTPUT
        if args.json:
            _print_json({"event": "error", "reason": str(exc), "exit": code})
        print(f"photomend: {shown(exc)}", file=sys.stderr)
        return code
    finally:
        bar.close()

    _print_restore_report(report, args.json)
    if report.cancelled:
        return exit_code_for_signal(cancel.signum)
    if report.stopped:
        return EXIT_OUTPUT
    return EXIT_SOME_FAILED if report.failed else EXIT_OK


def _print_restore_report(report: Any, as_json: bool) -> None:
    """The end of a batch: JSON "ignored" events and one "summary", or the text summary on stderr (the
    written files on stdout)."""
    from engine.batch.inputs import NOT_A_PHOTO
    from engine.batch.runner import EARLIER_OUTPUT

    if as_json:
        for path, reason in report.ignored:
            _print_json({"event": "ignored", "path": str(path), "reason": reason})
        _print_json(
            {
                "event": "summary",
                "done": [str(i.output) for i in report.done],
                "skipped": [str(i.output) for i, _ in report.skipped],
                "failed": [{"path": str(p), "reason": r} for p, r in report.failed],
                "renamed": [
                    {"path": str(i.source), "output": str(i.output), "reason": r} for i, r in report.renamed
                ],
                "warnings": list(report.warnings),
                "stopped": report.stopped or None,
                "cancelled": report.cancelled,
            }
        )
        return
    for item in report.done:
        print(f"wrote {shown(item.output)}")
    for warning in report.warnings:
        print(f"photomend: warning: {shown(warning)}", file=sys.stderr)
    print(f"photomend: {report.summary()}", file=sys.stderr)
    if report.renamed:
        print("Renamed, so that no output replaces another:", file=sys.stderr)
        for item, reason in report.renamed:
            print(f"  {shown(item.source)}: {shown(reason)}", file=sys.stderr)
    unusual = [(p, r) for p, r in report.ignored if r not in (NOT_A_PHOTO, EARLIER_OUTPUT)]
    if unusual:
        print("Not taken as photos:", file=sys.stderr)
        for path, reason in unusual:
            print(f"  {shown(path)}: {shown(reason)}", file=sys.stderr)
    failed = [(path, reason) for path, reason in report.failed if reason != report.stopped]
    if failed:
        print("These could not be restored:", file=sys.stderr)
        for path, reason in failed:
            text = reason if str(path) in reason else f"{path}: {reason}"
            print(f"  {shown(text)}", file=sys.stderr)
    if report.stopped:
        print(f"photomend: stopped: {shown(report.stopped)}", file=sys.stderr)


# --- Ray (engine.cluster, the optional `cluster` extra) ---


def _check_ray(args: argparse.Namespace) -> None:
    """BatchUsageError when --ray is asked for and cannot be had: Ray not installed (the extra's name), or an
    ADDRESS that is an input taken by mistake (`--ray photos/`), before any model loads."""
    from engine.batch import BatchUsageError

    if args.ray is None:
        return
    address = args.ray
    if address and address not in ("auto", "local") and ":" not in address:
        raise BatchUsageError(
            f"--ray {address}: not a Ray address (auto, HOST:PORT or ray://HOST:10001); to start a local "
            "Ray, put --ray after the inputs or write --ray= with nothing after it"
        )
    from engine.cluster import ClusterUnavailable, import_ray

    try:
        import_ray()
    except ClusterUnavailable as exc:
        raise BatchUsageError(str(exc)) from None


def _ray_refused(args: argparse.Namespace) -> int | None:
    """EXIT_USAGE, said in one line, when --ray cannot be had (_check_ray); None when the command goes on."""
    from engine.batch import BatchUsageError

    try:
        _check_ray(args)
    except BatchUsageError as exc:
        print(f"photomend: {shown(exc)}", file=sys.stderr)
        return EXIT_USAGE
    return None


def _failed_row(row: dict, args: argparse.Namespace, failures: list[tuple[Any, str]]) -> bool:
    """A photo's row that carries an error: counted in `failures` and printed (JSON, or a line on stderr).
    False for a row without one, which the caller prints its own way."""
    if "error" not in row:
        return False
    failures.append((row["path"], row["error"]))
    if args.json:
        _print_json(row)
    else:
        print(f"failed: {shown(row['error'])}", file=sys.stderr)
    return True


def _per_photo(function: Any, calls: list[tuple[Any, ...]], args: argparse.Namespace, cancel: Any) -> Any:
    """function(*call) for each call, in order: as Ray tasks with --ray, else here, one after another."""
    if args.ray is None:
        return (function(*call) for call in calls)
    from engine.cluster import run_tasks_on_ray

    return run_tasks_on_ray(function, calls, ray=_ray_options(args), cancel=cancel)


def _ray_options(args: argparse.Namespace) -> Any:
    from engine.cluster import RayOptions

    return RayOptions(
        address=args.ray or None,
        workers=args.ray_workers,
        cpus_per_worker=args.ray_cpus_per_worker,
        gpus_per_worker=args.ray_gpus_per_worker,
    )


def _progress_lines(every: float = 30.0) -> Any:
    """Progress for a terminal-less Ray run (hours long, logged to a file): one line every `every` seconds
    with the counts and the time left."""
    last = [time.monotonic()]

    def show(fraction: float, stage: str) -> None:
        now = time.monotonic()
        if now - last[0] >= every and fraction < 1.0:
            last[0] = now
            print(f"photomend: {shown(stage)}", file=sys.stderr, flush=True)

    return show


# --- blur / cull ---


def blur_row(path: Path, map_dir: Path | None) -> tuple[dict[str, Any], str]:
    """One photo's `photomend blur` row and its text line; ({"path", "error"}, "") when it cannot be read. A
    plain function of its arguments, so that --ray runs it as a Ray task.

    The verdict (engine.blur) says whether the photo is blurry and how; the even blur that `restore` would
    undo (engine.restorers.defocus) is read and named only for a photo judged out of focus. A sharp photo's
    spectrum can hold an even blur (its out-of-focus background, its grain's texture), but the photo has
    nothing to undo, so the line never says "sharp" and names a blur together.
    """
    from engine.blur import analyze_blur, save_blur_map_png
    from engine.io import read_photo
    from engine.restorers.defocus import estimate_defocus

    try:
        photo = read_photo(path)
        blur = analyze_blur(photo.pixels)
        even = estimate_defocus(photo.pixels) if blur.blurry and blur.kind == "defocus" else None
    except PhotoMendError as exc:  # a read error names the file; an analysis error gets it here
        reason = str(exc) if isinstance(exc, PhotoReadError) else f"{path}: {exc}"
        return {"path": str(path), "error": reason}, ""
    if even is not None and not even.found:
        even = None
    row: dict[str, Any] = {
        "path": str(path),
        "score": round(float(blur.score), 4),
        "blurry": bool(blur.blurry),
        "kind": blur.kind,
        "verdict": blur.verdict(),
        # The even blur that `restore` would undo for a deblurring request (only for an out-of-focus verdict).
        "even_blur": {"shape": even.shape, "size_px": even.size} if even is not None else None,
    }
    if map_dir is not None:
        h, w = photo.pixels.shape[:2]
        target = map_dir / f"{path.stem}.blurmap.png"
        save_blur_map_png(blur, target, w, h)
        row["map"] = str(target)
    undo = f"; {even.describe()}, which restore can undo" if even is not None else ""
    return row, f"{path}: sharpness {blur.score:.3f} — {blur.verdict()}{undo}"


def cmd_blur(args: argparse.Namespace) -> int:
    from engine.batch import collect_inputs

    refused = _ray_refused(args)
    if refused is not None:
        return refused
    found, report = collect_inputs(args.inputs)
    failures = list(report.failed)
    map_dir = Path(args.map) if args.map else None
    if map_dir is not None:
        map_dir.mkdir(parents=True, exist_ok=True)
    with cancel_on_interrupt() as cancel:
        calls = [(path, map_dir) for path, _rel in found]
        rows = _per_photo(blur_row, calls, args, cancel)
        for row, line in rows:
            if cancel.cancelled:
                return exit_code_for_signal(cancel.signum)
            if _failed_row(row, args, failures):
                continue
            if args.json:
                _print_json(row)
            else:
                print(line)
        if cancel.cancelled:
            return exit_code_for_signal(cancel.signum)
    if failures and not args.json:
        for path, reason in report.failed:
            print(f"failed: {path}: {reason}", file=sys.stderr)
    return EXIT_SOME_FAILED if failures else EXIT_OK


# --- detect ---


def detect_row(path: Path, device: str | None) -> tuple[dict[str, Any], str, PhotoMendError | None]:
    """One photo's `photomend detect` row (path, tasks, scores, instruction) and its text line; a photo that
    cannot be read gives ({"path", "error"}, "", None), a missing detector or device (..., ..., the error) for
    the command to stop on. A plain function of its arguments, so that --ray runs it as a Ray task."""
    from engine.io import read_photo
    from engine.pipeline import detect_degradations

    try:
        found = detect_degradations(read_photo(path).pixels, device=device)
    except (ModelError, DeviceError) as exc:
        return {"path": str(path), "error": str(exc)}, "", exc
    except PhotoMendError as exc:  # a read error names the file; any other gets it here
        reason = str(exc) if isinstance(exc, PhotoReadError) else f"{path}: {exc}"
        return {"path": str(path), "error": reason}, "", None
    row: dict[str, Any] = {"path": str(path), **found.as_dict()}
    if found.tasks:
        scores = ", ".join(f"{task} {found.probabilities[task]:.2f}" for task in found.tasks)
        return row, f'{path}: "{found.instruction}" ({scores})', None
    top = max(found.probabilities, key=found.probabilities.__getitem__)
    return row, f"{path}: looks clean (highest score: {top} {found.probabilities[top]:.2f})", None


def cmd_detect(args: argparse.Namespace) -> int:
    from engine.batch import collect_inputs

    refused = _ray_refused(args)
    if refused is not None:
        return refused
    found, collected = collect_inputs(args.inputs)
    failures: list[tuple[str, str]] = [(str(path), f"{path}: {reason}") for path, reason in collected.failed]
    for path, reason in failures:
        if args.json:
            _print_json({"path": path, "error": reason})
        else:
            print(f"failed: {shown(reason)}", file=sys.stderr)
    bar = ProgressBar()
    flagged = clean = 0
    with cancel_on_interrupt() as cancel:
        calls = [(path, args.device) for path, _rel in found]
        rows = _per_photo(detect_row, calls, args, cancel)
        try:
            for done, (row, line, fatal) in enumerate(rows, 1):
                if cancel.cancelled:
                    return exit_code_for_signal(cancel.signum)
                if fatal is not None:
                    raise fatal
                bar.close()
                if not _failed_row(row, args, failures):
                    flagged, clean = flagged + bool(row["tasks"]), clean + (not row["tasks"])
                    if args.json:
                        _print_json(row)
                    else:
                        print(shown(line), flush=True)
                bar(done / max(1, len(calls)), f"{done}/{len(calls)} photos")
        finally:
            bar.close()
        if cancel.cancelled:
            return exit_code_for_signal(cancel.signum)
    if not args.json:
        summary = f"{flagged} need restoring, {clean} look clean"
        print(f"photomend: {summary}" + (f", {len(failures)} failed" if failures else ""), file=sys.stderr)
        if failures:
            print("These could not be read:", file=sys.stderr)
            for _path, reason in failures:
                print(f"  {shown(reason)}", file=sys.stderr)
    return EXIT_SOME_FAILED if failures else EXIT_OK


def cmd_cull(args: argparse.Namespace) -> int:
    from engine.blur import cull_folder

    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"photomend: {folder}: not a folder", file=sys.stderr)
        return EXIT_USAGE
    action = "move" if args.move else "copy" if args.copy else "none"
    bar = ProgressBar()
    with cancel_on_interrupt() as cancel:
        try:
            report = cull_folder(
                folder,
                action=action,
                subfolder=args.subfolder,
                threshold=args.threshold,
                progress=bar,
                cancel=cancel,
            )
        finally:
            bar.close()
    for entry in report.ranked:
        if args.json:
            _print_json(
                {
                    "path": str(entry.path),
                    "score": round(float(entry.report.score), 4),
                    "blurry": bool(entry.report.blurry),
                    "kind": entry.report.kind,
                    "moved_to": str(entry.destination) if entry.destination else None,
                }
            )
        else:
            flag = f"BLURRY ({entry.report.kind})" if entry.report.blurry else "sharp"
            dest = f" -> {entry.destination}" if entry.destination else ""
            print(f"{entry.report.score:8.3f}  {flag:<18} {entry.path}{dest}")
    for path, reason in report.failed:
        if args.json:
            _print_json({"path": str(path), "error": reason})
        else:
            print(f"failed: {reason}", file=sys.stderr)
    return EXIT_SOME_FAILED if report.failed else EXIT_OK


# --- compare / interpret / info ---


def cmd_compare(args: argparse.Namespace) -> int:
    import math

    from engine.io import read_photo
    from engine.metrics import psnr, ssim

    restored = read_photo(args.restored).pixels
    reference = read_photo(args.reference).pixels
    if restored.shape != reference.shape:
        print(
            f"photomend: {args.restored}: size {restored.shape[1]}x{restored.shape[0]} differs from "
            f"{args.reference} ({reference.shape[1]}x{reference.shape[0]})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    # Identical photos have an infinite PSNR, which JSON cannot hold: --json gives null ("identical": true),
    # the text line says "identical". A non-finite SSIM (it cannot happen on decoded pixels) is null too.
    psnr_db, ssim_value = float(psnr(restored, reference)), float(ssim(restored, reference))
    values = {
        "psnr": round(psnr_db, 3) if math.isfinite(psnr_db) else None,
        "ssim": round(ssim_value, 4) if math.isfinite(ssim_value) else None,
        "identical": psnr_db == math.inf,
    }
    if args.json:
        _print_json({"restored": str(args.restored), "reference": str(args.reference), **values})
    else:
        shown_psnr = "inf dB (identical)" if values["identical"] else f"{psnr_db:.2f} dB"
        print(f"PSNR {shown_psnr}   SSIM {ssim_value:.4f}")
    return EXIT_OK


def cmd_interpret(args: argparse.Namespace) -> int:
    from engine.instructions import interpret

    interp = interpret(" ".join(args.text))
    if args.json:
        _print_json(_interpretation_dict(interp))
    elif interp.understood:
        print(interp.message.removeprefix("Understood: "))
        _print_plan_and_notes(interp, sys.stdout, single_step=True)
    else:
        print(interp.message)
    return EXIT_OK if interp.understood else EXIT_NOT_UNDERSTOOD


def cmd_info(args: argparse.Namespace) -> int:
    from engine.runtime import device_report

    report = device_report(args.device)
    if args.json:
        _print_json(report)
    else:
        for key, value in report.items():
            if isinstance(value, list):
                print(f"{key}:" + ("" if value else " none"))
                for entry in value:
                    if isinstance(entry, dict) and "id" in entry:
                        state = "ok (sha256 verified)" if entry.get("verified") else entry.get("message", "")
                        if entry.get("verified") and entry.get("device"):
                            # What the loaded session really runs on (session.get_providers()).
                            state += f", runs on {entry['device']} ({', '.join(entry.get('providers', []))})"
                        print(f"  {entry['id']}: {state}")
                    else:
                        print(f"  {entry}")
            else:
                print(f"{key}: {value}")
    return EXIT_OK


# --- parser ---


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photomend",
        description="Restore photos offline from a plain-language instruction.",
    )
    parser.add_argument("--version", action="version", version=f"photomend {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def device_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--device",
            choices=["auto", "cuda", "directml", "cpu"],
            default=None,
            help="execution device (default: $PHOTOMEND_DEVICE or auto: CUDA, then DirectML, then CPU)",
        )

    def ray_options(p: argparse.ArgumentParser) -> None:
        group = p.add_argument_group("Ray (pip install 'photomend[cluster]')")
        group.add_argument(
            "--ray",
            nargs="?",
            const="",
            default=None,
            metavar="ADDRESS",
            help="run on Ray: a local Ray started for the run, or the cluster at ADDRESS (auto, HOST:PORT, "
            "ray://HOST:10001); inputs may then be URIs (s3://bucket/photos/), outputs go to a folder every "
            "worker sees",
        )
        group.add_argument(
            "--ray-workers", type=int, default=None, metavar="N", help="workers (default: from the cluster)"
        )
        group.add_argument(
            "--ray-cpus-per-worker",
            type=float,
            default=None,
            metavar="C",
            help="CPUs each worker holds (default: a node's CPUs, or a GPU's share of them)",
        )
        group.add_argument(
            "--ray-gpus-per-worker",
            type=float,
            default=None,
            metavar="G",
            help="GPUs each worker holds (default 1 on a cluster with GPUs; 0: CPU workers only)",
        )

    p = sub.add_parser("restore", help="restore photos as an instruction asks")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="photos or folders (searched recursively)")
    p.add_argument("--prompt", "-p", default="", help='what is wrong, e.g. "it\'s dark and grainy"')
    p.add_argument("--output", "-o", required=True, help="output folder (originals are never modified)")
    p.add_argument("--strength", type=float, default=1.0, help="0..1 blend with the original (default 1)")
    p.add_argument(
        "--pattern",
        default="{stem}.{ext}",
        help="output file name inside the output folder, from the fields {stem} (name without extension), "
        "{ext} (extension; tif for a camera RAW) and {name} (whole name), e.g. '{stem}-restored.{ext}'",
    )
    p.add_argument("--tile-size", type=int, default=None, help="tile size in pixels (default: by device)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace files in the output folder that PhotoMend did not write (never an original)",
    )
    p.add_argument("--json", action="store_true", help="JSON lines on stdout")
    device_option(p)
    ray_options(p)
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("detect", help="what each photo needs: the instruction an empty prompt would run")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="photos or folders (searched recursively)")
    p.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line per photo: path, tasks, scores, instruction (error for a bad file)",
    )
    device_option(p)
    ray_options(p)
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("blur", help="sharpness score, blurry verdict and kind per photo")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("--json", action="store_true", help="one JSON object per line per photo")
    p.add_argument("--map", metavar="DIR", help="also write a PNG heat map per photo into DIR")
    ray_options(p)
    p.set_defaults(func=cmd_blur)

    p = sub.add_parser("cull", help="rank a folder by sharpness; copy or move blurry shots aside")
    p.add_argument("folder")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--copy", action="store_true", help="copy blurry shots into the subfolder")
    group.add_argument("--move", action="store_true", help="move blurry shots into the subfolder")
    p.add_argument("--subfolder", default="blurry", help="name of the subfolder (default: blurry)")
    p.add_argument("--threshold", type=float, default=None, help="sharpness below this is blurry")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_cull)

    p = sub.add_parser("compare", help="PSNR and SSIM of a restored photo against a reference")
    p.add_argument("restored")
    p.add_argument("reference")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("interpret", help="show what PhotoMend understands from an instruction")
    p.add_argument("text", nargs="+")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_interpret)

    p = sub.add_parser("info", help="devices, execution providers and models")
    p.add_argument("--json", action="store_true")
    device_option(p)
    p.set_defaults(func=cmd_info)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # A message that the terminal's encoding cannot show is escaped, not a crash (stderr does this already).
    with suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    try:
        return int(args.func(args))
    except InstructionError as exc:
        print(f"photomend: {exc}", file=sys.stderr)
        return EXIT_NOT_UNDERSTOOD
    except (ModelError, DeviceError) as exc:
        print(f"photomend: {exc}", file=sys.stderr)
        return EXIT_MODEL
    except Cancelled:
        print("photomend: cancelled", file=sys.stderr)
        return exit_code_for_signal(_last_signal)
    except KeyboardInterrupt as exc:
        print("\nphotomend: stopped", file=sys.stderr)
        return exit_code_for_signal(getattr(exc, "signum", signal.SIGINT))
    except PhotoMendError as exc:
        print(f"photomend: {exc}", file=sys.stderr)
        return EXIT_SOME_FAILED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
