"""`photomend` command line: restore, blur, cull, compare, interpret, info.

The GIMP plug-in's installer is the plug-in's own command, `photomend-gimp` (plugin_gimp/install.py).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from engine import __version__
from engine.errors import Cancelled, DeviceError, InstructionError, ModelError, PhotoMendError
from engine.progress import CancelToken

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_UNDERSTOOD = 3
EXIT_MODEL = 4
EXIT_CANCELLED = 130


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


@contextmanager
def cancel_on_interrupt() -> Iterator[CancelToken]:
    """First Ctrl-C cancels cleanly between tiles/files; a second one stops at once."""
    token = CancelToken()

    def handler(signum: int, frame: object) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()
        print("\ncancelling… (Ctrl-C again to stop at once)", file=sys.stderr)

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: no signal handling, the token still works
        yield token
        return
    try:
        yield token
    finally:
        signal.signal(signal.SIGINT, previous)


def _print_json(obj: dict[str, Any]) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)


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
        "understood": bool(interp.understood),
        "message": interp.message,
        "summary": interp.summary() if interp.understood else "",
        "notes": _notes(interp),
        "plan": [step.as_dict() for step in plan.steps] if plan is not None else [],
    }


def _print_understood(interp: Any, stream: IO[str]) -> None:
    """What an understood instruction asks for, the plan's steps when there are several, and the notes."""
    print(f"Understood: {interp.summary()}", file=stream)
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
    from engine.batch import ItemEvent, run_batch
    from engine.instructions import Interpretation, interpret

    prompt = args.prompt or ""
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
                }
            )
        elif event.status == "failed":
            bar.close()
            print(f"failed: {event.reason}", file=sys.stderr)
        elif event.findings:
            bar.close()
            for line in _step_lines(event.item.source.name, event.steps, event.findings):
                print(line, file=sys.stderr)

    with cancel_on_interrupt() as cancel:
        try:
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
        finally:
            bar.close()

    for path, reason in report.ignored:
        if args.json:
            _print_json({"event": "ignored", "path": str(path), "reason": reason})
    if args.json:
        _print_json(
            {
                "event": "summary",
                "done": [str(i.output) for i in report.done],
                "skipped": [str(i.output) for i, _ in report.skipped],
                "failed": [{"path": str(p), "reason": r} for p, r in report.failed],
                "cancelled": report.cancelled,
            }
        )
    else:
        for item in report.done:
            print(f"wrote {item.output}")
        print(f"photomend: {report.summary()}", file=sys.stderr)
        if report.failed:
            print("These could not be restored:", file=sys.stderr)
            for path, reason in report.failed:
                text = reason if str(path) in reason else f"{path}: {reason}"
                print(f"  {text}", file=sys.stderr)
    if report.cancelled:
        return EXIT_CANCELLED
    return EXIT_SOME_FAILED if report.failed else EXIT_OK


# --- blur / cull ---


def cmd_blur(args: argparse.Namespace) -> int:
    from engine.batch import collect_inputs
    from engine.blur import analyze_blur, save_blur_map_png
    from engine.io import read_photo
    from engine.restorers.defocus import estimate_defocus

    found, report = collect_inputs(args.inputs)
    failures = list(report.failed)
    map_dir = Path(args.map) if args.map else None
    if map_dir is not None:
        map_dir.mkdir(parents=True, exist_ok=True)
    with cancel_on_interrupt() as cancel:
        for path, _rel in found:
            if cancel.cancelled:
                return EXIT_CANCELLED
            try:
                photo = read_photo(path)
                blur = analyze_blur(photo.pixels)
                even = estimate_defocus(photo.pixels)
            except PhotoMendError as exc:
                failures.append((path, str(exc)))
                if args.json:
                    _print_json({"path": str(path), "error": str(exc)})
                else:
                    print(f"failed: {exc}", file=sys.stderr)
                continue
            row: dict[str, Any] = {
                "path": str(path),
                "score": round(float(blur.score), 4),
                "blurry": bool(blur.blurry),
                "kind": blur.kind,
                # The even blur that `restore` would undo for a deblurring request (engine.restorers.defocus).
                "even_blur": {"shape": even.shape, "size_px": even.size} if even.found else None,
            }
            if map_dir is not None:
                h, w = photo.pixels.shape[:2]
                target = map_dir / f"{path.stem}.blurmap.png"
                save_blur_map_png(blur, target, w, h)
                row["map"] = str(target)
            if args.json:
                _print_json(row)
            else:
                verdict = f"blurry ({blur.kind})" if blur.blurry else "sharp"
                undo = f"; {even.describe()}, which restore can undo" if even.found else ""
                print(f"{path}: sharpness {blur.score:.3f} — {verdict}{undo}")
    if failures and not args.json:
        for path, reason in report.failed:
            print(f"failed: {path}: {reason}", file=sys.stderr)
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
    values = {"psnr": round(psnr(restored, reference), 3), "ssim": round(ssim(restored, reference), 4)}
    if args.json:
        _print_json({"restored": str(args.restored), "reference": str(args.reference), **values})
    else:
        print(f"PSNR {values['psnr']:.2f} dB   SSIM {values['ssim']:.4f}")
    return EXIT_OK


def cmd_interpret(args: argparse.Namespace) -> int:
    from engine.instructions import interpret

    interp = interpret(" ".join(args.text))
    if args.json:
        _print_json(_interpretation_dict(interp))
    elif interp.understood:
        print(f"{interp.summary()}")
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

    p = sub.add_parser("restore", help="restore photos as an instruction asks")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="photos or folders (searched recursively)")
    p.add_argument("--prompt", "-p", default="", help='what is wrong, e.g. "it\'s dark and grainy"')
    p.add_argument("--output", "-o", required=True, help="output folder (originals are never modified)")
    p.add_argument("--strength", type=float, default=1.0, help="0..1 blend with the original (default 1)")
    p.add_argument("--pattern", default="{stem}.{ext}", help="output name pattern: {stem}, {ext}, {name}")
    p.add_argument("--tile-size", type=int, default=None, help="tile size in pixels (default: by device)")
    p.add_argument("--overwrite", action="store_true", help="replace existing files in the output folder")
    p.add_argument("--json", action="store_true", help="JSON lines on stdout")
    device_option(p)
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("blur", help="sharpness score, blurry verdict and kind per photo")
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("--json", action="store_true", help="one JSON object per line per photo")
    p.add_argument("--map", metavar="DIR", help="also write a PNG heat map per photo into DIR")
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
        return EXIT_CANCELLED
    except KeyboardInterrupt:
        print("\nphotomend: stopped", file=sys.stderr)
        return EXIT_CANCELLED
    except PhotoMendError as exc:
        print(f"photomend: {exc}", file=sys.stderr)
        return EXIT_SOME_FAILED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
