"""Instruction -> conditioning -> tiled inference (+ a scene pass: haze, low light; + defocus or camera-shake
deconvolution; + a DCT denoising pass; for JPEG artefacts the DCT filter and the JPEG refiner instead)
-> blend by strength."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.blur.defocus import DefocusEstimate, estimate_defocus, is_grainy, undo_blur
from engine.blur.motion import MotionEstimate, estimate_motion, undo_motion
from engine.errors import InstructionError
from engine.instructions import Interpretation, interpret
from engine.instructions.head import STRENGTH_LEVELS
from engine.io import Photo
from engine.models import DENOISE, JPEG, SHAKE, ModelSpec, get_spec
from engine.noise import (
    NOISE_UNIT,
    SCALE_UNIT,
    NoiseLevel,
    denoise_dct,
    estimate_jpeg_quality,
    estimate_noise_level,
    grain_windows,
    jpeg_noise_level,
    quantisation_scale,
)
from engine.pipeline.scene import guide_sigma, guided_tiles, scene_guide, scene_side_for, shrink_to
from engine.progress import CancelToken, ProgressCallback, no_progress, scaled_progress
from engine.runtime import get_session
from engine.tiling import TileInfer, default_tile_size, run_tiled

RESTORE_MODEL_ID = "restore"
#: The denoise refiner's share of the result grows from nothing at grain of REFINE_FROM (RMS, /255) to all
#: of it at REFINE_FULL (refiner_share). On its own, on the 12 BSD432 photos it never saw, it gains over the
#: DCT filter from σ 15 up (+0.05 dB; σ 25 +0.5, σ 50 +1.9; a camera's JPEG of σ 20 grain, read as 13-17,
#: +1.3) and loses below (σ 10 -0.04, σ 6 -0.4, σ 3 -1.7, a clean photo whose texture reads as grain -4.6):
#: where the filter is near perfect, the network's own error shows (python -m bench.noise --every 36).
REFINE_FROM = 8.0
REFINE_FULL = 12.0
#: How the network is conditioned when a grainy photo must lose its grain before its blur is undone.
GRAIN_FIRST_INSTRUCTION = "remove the noise and the blur"
NORMAL_STRENGTH = STRENGTH_LEVELS[1]


def blend(original: np.ndarray, restored: np.ndarray, strength: float) -> np.ndarray:
    """Linear mix of original and restored pixels; strength 0 = original, 1 = full restoration."""
    s = float(min(max(strength, 0.0), 1.0))
    if s >= 1.0:
        return restored
    if s <= 0.0:
        return original
    return (original + s * (restored - original)).astype(np.float32, copy=False)


def instruction_blend(interpretation: Interpretation) -> float:
    """How much of the restoration an instruction asks for.

    A plain request ("remove the noise") and a strong one both get the full network output: the network
    itself is conditioned on the wording. Only gentle requests ("slightly") are mixed back towards the
    original, in proportion to the head's strength relative to a plain request.
    """
    return float(min(1.0, interpretation.strength / NORMAL_STRENGTH))


@dataclass
class RestoreResult:
    """A finished restoration: full-strength output kept so the strength can be changed instantly."""

    original: np.ndarray
    restored: np.ndarray
    interpretation: Interpretation
    strength: float
    device: str
    providers: list[str]
    tile_size: int
    seconds: float
    auto_detected: bool = False
    #: task_notes() of the tasks it ran: what the model does poorly there
    notes: tuple[str, ...] = ()
    #: what this run found in this photo (e.g. the out-of-focus disk it undid), one line each
    findings: tuple[str, ...] = ()
    metadata: dict[str, object] = field(default_factory=dict)

    def blend(self, strength: float | None = None) -> np.ndarray:
        """Pixels at `strength` (default: the strength asked for), without re-running the network."""
        return blend(self.original, self.restored, self.strength if strength is None else strength)

    @property
    def pixels(self) -> np.ndarray:
        return self.blend()


def task_notes(tasks: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """What the restoration model does poorly among `tasks` (ModelSpec.task_notes), for the user to read."""
    wanted = set(tasks)
    return tuple(note for task, note in get_spec(RESTORE_MODEL_ID).task_notes if task in wanted)


def _resolve_instruction(
    pixels: np.ndarray, instruction: str | Interpretation, device: str | None
) -> tuple[Interpretation, bool]:
    if isinstance(instruction, Interpretation):
        interpretation, auto = instruction, False
    elif instruction.strip():
        interpretation, auto = interpret(instruction), False
    else:
        # Empty prompt: propose what the detector sees (DA-CLIP / OneRestore idea).
        from engine.pipeline.detect import suggest_instruction

        suggestion = suggest_instruction(pixels, device=device)
        if suggestion is None:
            raise InstructionError(
                "No instruction given and no degradation detected: the photo looks clean. "
                "Type what is wrong with it, e.g. 'reduce the noise'."
            )
        interpretation, auto = suggestion, True
    if not interpretation.understood:
        raise InstructionError(interpretation.message)
    return interpretation, auto


def restore(
    image: Photo | np.ndarray,
    instruction: str | Interpretation,
    *,
    strength: float = 1.0,
    device: str | None = None,
    tile_size: int | None = None,
    max_side: int | None = None,
    scene_side: int | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> RestoreResult:
    """Restore `image` (a Photo or H x W x 3 float32 RGB in [0, 1]) as `instruction` asks.

    `strength` (0..1) scales the instruction's own strength for the final blend. `max_side`
    downscales first (fast preview). `scene_side` overrides the sides of the model's scene pass (0: none;
    bench/scene_pass.py compares them). Raises InstructionError for an instruction that is not a
    restoration request, ModelError/DeviceError for a missing model or device, Cancelled.
    """
    progress = progress or no_progress
    pixels = image.pixels if isinstance(image, Photo) else image
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"expected H x W x 3 pixels, got shape {pixels.shape}")
    source = np.ascontiguousarray(pixels, dtype=np.float32)
    pixels = shrink_to(source, max_side)
    started = time.perf_counter()
    progress(0.0, "understanding the instruction")
    interpretation, auto = _resolve_instruction(pixels, instruction, device)
    if cancel is not None:
        cancel.raise_if_cancelled()

    spec = get_spec(RESTORE_MODEL_ID)
    session = get_session(spec, device)
    embedding = np.asarray(interpretation.embedding, dtype=np.float32).reshape(1, -1)
    infer = session.tile_infer({spec.conditioning or "embedding": embedding})
    chosen_tile = tile_size or default_tile_size(session.device)
    if scene_side is not None:  # the same side for every task that has one (0: no scene pass)
        spec = dataclasses.replace(spec, scene_sides=tuple((t, scene_side) for t, _ in spec.scene_sides))
    side = scene_side_for(spec, interpretation.tasks, pixels.shape)

    def tiled(
        image: np.ndarray, start: float, end: float, run: TileInfer, model: ModelSpec = spec
    ) -> np.ndarray:
        return tiled_pass(
            image, run, model, chosen_tile, progress=scaled_progress(progress, start, end), cancel=cancel
        )

    def refined(
        model: ModelSpec, level: float, degraded: np.ndarray, filtered: np.ndarray, start: float
    ) -> np.ndarray:
        """A filter refiner's output (tiled) from the degraded photo, the filter's output and the level."""
        return refine(
            model,
            level,
            degraded,
            filtered,
            device=device,
            tile_size=chosen_tile,
            progress=scaled_progress(progress, start, 1.0),
            cancel=cancel,
        )

    tasks = set(interpretation.tasks)
    # Defocus is undone by deconvolution (engine.blur.defocus): the network barely deblurs. Asked for
    # deblurring alone, the photo's own spectrum tells the kernel and the network is not needed; in a
    # composite the network works first and the kernel is read from its cleaner output.
    defocus = estimate_defocus(pixels) if tasks == {"deblur"} else None
    grain_first = defocus is not None and defocus.found and is_grainy(pixels)
    if grain_first:
        # Deconvolving grain would amplify it: the network removes it first, conditioned as for a
        # request to remove noise and blur, and the kernel is read again from its output.
        grain = np.asarray(interpret(GRAIN_FIRST_INSTRUCTION).embedding, np.float32).reshape(1, -1)
        infer, defocus = session.tile_infer({spec.conditioning or "embedding": grain}), None
    # Asked only to clean up JPEG artefacts, the quality is read from the block grid (up to about 80), and
    # the artefacts are filtered as noise of the level it implies (engine.noise.jpeg). A preview
    # (max_side) has lost the grid: it is read at full size, and the level shrinks with the photo.
    quality = estimate_jpeg_quality(source) if tasks == {"jpeg"} else None
    shrunk_by = pixels.shape[0] / source.shape[0]
    # At full size the JPEG refiner finishes the filter's work; a preview has lost the block grid it was
    # trained on, and gets the filter alone.
    jpeg_refined = quality is not None and shrunk_by == 1.0
    refiner: ModelSpec | None = None  # the refiner that ran, if one did
    noise: NoiseLevel | None = None  # the grain level read, for a request to remove noise alone
    # A shaken photo writes no rings into its spectrum: the shake's path is read blindly from the photo's
    # edges (engine.blur.motion), and undone when the spectrum and the sharper edges confirm it - and
    # explain the photo better than the even blur, if one was found (a shake can fit a slight one).
    motion = None
    if defocus is not None:
        motion = estimate_motion(
            pixels,
            even_blur=defocus.kernel if defocus.found else None,
            progress=scaled_progress(progress, 0.02, 0.6),
            cancel=cancel,
        )
    if motion is not None and motion.found:
        progress(0.6, f"undoing {motion.describe()}")
        restored = undo_motion(pixels, motion, progress=scaled_progress(progress, 0.6, 0.85), cancel=cancel)
        # The deconvolution's ringing and the path's misreadings are what the shake refiner was trained on.
        progress(0.85, "cleaning up after the deconvolution")
        refiner = SHAKE
        restored = refined(SHAKE, motion.level, pixels, restored, 0.85)
    elif defocus is not None and defocus.found:
        restored = _undo_defocus(pixels, defocus, 0.6, 1.0, progress, cancel)
    elif quality is not None:
        progress(0.02, f"smoothing the blocks of a JPEG saved at quality {quality}")
        restored = denoise_dct(
            pixels,
            jpeg_noise_level(quality).scaled(shrunk_by),
            clipped=False,
            progress=scaled_progress(progress, 0.02, 0.45 if jpeg_refined else 1.0),
            cancel=cancel,
        )
        if jpeg_refined:
            progress(0.45, "restoring the detail the compression blurred")
            refiner = JPEG
            restored = refined(JPEG, quantisation_scale(quality) / SCALE_UNIT, pixels, restored, 0.45)
    elif tasks == {"denoise"}:
        restored, noise, refiner = _remove_grain(pixels, infer, tiled, refined, progress, cancel)
    else:
        # After a shake was looked for in vain, the network takes the rest of the bar.
        network_start = 0.6 if motion is not None else 0.02
        network_end = 0.7 if "deblur" in tasks and motion is None else 1.0
        if side:
            progress(network_start, "judging the whole scene")
            small = tiled(
                shrink_to(pixels, side, spec.minimum_size), network_start, network_start + 0.03, infer
            )
            guided = np.concatenate([pixels, scene_guide(small, pixels.shape)], axis=2)
            restored = tiled(
                guided,
                network_start + 0.03,
                network_end,
                guided_tiles(infer, guide_sigma(pixels.shape, max(small.shape[:2]))),
            )
        else:
            restored = tiled(pixels, network_start, network_end, infer)
        if "deblur" in tasks and defocus is None:
            np.clip(restored, 0.0, 1.0, out=restored)  # the network's own array: clipped in place
            defocus = estimate_defocus(restored)
            if defocus.found:
                restored = _undo_defocus(restored, defocus, network_end, 1.0, progress, cancel)
    np.clip(restored, 0.0, 1.0, out=restored)
    progress(1.0, "done")
    return RestoreResult(
        original=pixels,
        restored=restored,
        interpretation=interpretation,
        strength=float(min(max(strength, 0.0), 1.0)) * instruction_blend(interpretation),
        device=session.device,
        providers=list(session.providers),
        tile_size=chosen_tile,
        seconds=time.perf_counter() - started,
        auto_detected=auto,
        notes=task_notes(interpretation.tasks),
        findings=_blur_findings(defocus, motion, grain_first)
        + _noise_findings(noise)
        + (_jpeg_findings(quality, jpeg_refined) if tasks == {"jpeg"} else ()),
        metadata=_metadata(spec.id, spec.sha256, defocus, motion, noise, quality, refiner),
    )


def tiled_pass(
    image: np.ndarray,
    run: TileInfer,
    model: ModelSpec,
    tile_size: int,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """`run` over `image` tile by tile, as `model` is cut; averaged with its run on the mirror image where the
    model asks for that (ModelSpec.mirror_average)."""

    def once(pixels: np.ndarray, first: float, last: float) -> np.ndarray:
        return run_tiled(
            pixels,
            run,
            tile_size=tile_size,
            overlap=model.tile_overlap,
            multiple_of=model.multiple_of,
            minimum_size=model.minimum_size,
            progress=scaled_progress(progress, first, last),
            cancel=cancel,
            out_channels=3,
        )

    if not model.mirror_average:
        return once(image, 0.0, 1.0)
    direct = once(image, 0.0, 0.5)
    return (direct + once(np.ascontiguousarray(image[:, ::-1]), 0.5, 1.0)[:, ::-1]) / 2.0


def refine(
    model: ModelSpec,
    level: float,
    degraded: np.ndarray,
    filtered: np.ndarray,
    *,
    device: str | None = None,
    tile_size: int | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """A filter refiner's output (JPEG, DENOISE or SHAKE: H x W x 3 float32, not clipped) from the degraded
    photo, what the engine's filter or deconvolution made of it, and the level the refiner is told."""
    session = get_session(model, device)
    run = session.tile_infer({"level": np.array([[level]], np.float32)})
    size = tile_size or default_tile_size(session.device)
    stacked = np.concatenate([degraded, filtered], axis=2)
    return tiled_pass(stacked, run, model, size, progress=progress, cancel=cancel)


#: tiled(image, start, end, run) in restore(): the tiled pass of `run`, reporting progress from start to end
Tiled = Callable[[np.ndarray, float, float, TileInfer], np.ndarray]
#: refined(model, level, degraded, filtered, start) in restore(): a filter refiner's tiled pass
Refined = Callable[[ModelSpec, float, np.ndarray, np.ndarray, float], np.ndarray]


def _remove_grain(
    pixels: np.ndarray,
    infer: TileInfer,
    tiled: Tiled,
    refined: Refined,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> tuple[np.ndarray, NoiseLevel, ModelSpec | None]:
    """A request to remove noise alone: (restored, the grain level read, the refiner that ran or None).

    The network's output shows where the photo is flat and the noise level is read there (on the flattest
    windows of a big photo: engine.noise.grain_windows). The photo is then denoised again from its own
    pixels by the DCT filter, which keeps the texture the network smooths away, and the denoise refiner
    finishes the filter's work (refiner_share). Without grain the network's output is kept.
    """
    progress(0.02, "reading the grain")
    crops = [pixels[window] for window in grain_windows(pixels)]
    guides = [
        tiled(crop, 0.02 + 0.13 * i / len(crops), 0.02 + 0.13 * (i + 1) / len(crops), infer)
        for i, crop in enumerate(crops)
    ]
    if len(crops) == 1:  # the whole photo
        noisy, guide = pixels, np.clip(guides[0], 0.0, 1.0, out=guides[0])
    else:
        noisy, guide = np.concatenate(crops), np.clip(np.concatenate(guides), 0.0, 1.0)
    noise = estimate_noise_level(noisy, guide)
    if not noise.found:
        return (guide if len(crops) == 1 else tiled(pixels, 0.15, 1.0, infer)), noise, None
    progress(0.15, f"removing {noise.describe()}")
    filtered = denoise_dct(pixels, noise, progress=scaled_progress(progress, 0.15, 0.5), cancel=cancel)
    share = refiner_share(noise)
    if share == 0.0:
        return filtered, noise, None
    progress(0.5, "restoring the texture the grain hid")
    restored = refined(DENOISE, noise.rms / NOISE_UNIT, pixels, filtered, 0.5)
    return (restored if share == 1.0 else filtered + share * (restored - filtered)), noise, DENOISE


def refiner_share(noise: NoiseLevel) -> float:
    """How much of the denoise refiner's output replaces the DCT filter's, for grain of `noise`: none at
    REFINE_FROM (/255) and below, all from REFINE_FULL, linear between."""
    level = 255.0 * noise.rms
    if level <= REFINE_FROM:
        return 0.0
    if level >= REFINE_FULL:
        return 1.0
    return (level - REFINE_FROM) / (REFINE_FULL - REFINE_FROM)


def _metadata(
    model: str,
    sha256: str,
    defocus: DefocusEstimate | None,
    motion: MotionEstimate | None,
    noise: NoiseLevel | None,
    quality: int | None,
    refiner: ModelSpec | None,
) -> dict[str, object]:
    """What a run found, for RestoreResult.metadata: the models that ran, and the blur, noise or JPEG
    quality read."""
    metadata: dict[str, object] = {"model": model, "model_sha256": sha256}
    if motion is not None and motion.found:
        metadata["motion_length"] = round(motion.length, 1)
    elif defocus is not None and defocus.found:
        metadata["defocus"] = (defocus.shape, defocus.size)
    if noise is not None:
        metadata["noise"] = round(255.0 * noise.rms, 2)
    if quality is not None:
        metadata["jpeg_quality"] = quality
    if refiner is not None:
        metadata[f"{refiner.id}_model_sha256"] = refiner.sha256
    return metadata


def _undo_defocus(
    pixels: np.ndarray,
    defocus: DefocusEstimate,
    start: float,
    end: float,
    progress: ProgressCallback,
    cancel: CancelToken | None,
) -> np.ndarray:
    progress(start, f"undoing {defocus.describe()}")
    return undo_blur(pixels, defocus, progress=scaled_progress(progress, start, end), cancel=cancel)


def _blur_findings(
    defocus: DefocusEstimate | None, motion: MotionEstimate | None, grain_first: bool
) -> tuple[str, ...]:
    if defocus is None:
        return ()
    if motion is not None and motion.found:
        return (f"Found {motion.describe()} and undid it.",)
    if defocus.found:
        grain = " It was grainy too, so the grain was removed first." if grain_first else ""
        return (f"Found {defocus.describe()} and undid it.{grain}",)
    return ("Found neither an even out-of-focus blur nor a camera shake to undo, so only the network ran.",)


def _noise_findings(noise: NoiseLevel | None) -> tuple[str, ...]:
    if noise is None:
        return ()
    if noise.found:
        return (f"Found {noise.describe()} and removed it.",)
    return ("Found almost no grain, so only the network ran.",)


def _jpeg_findings(quality: int | None, refined: bool) -> tuple[str, ...]:
    if quality is None:
        return ("Found no JPEG block grid to read the quality from, so only the network ran.",)
    if refined:
        return (f"Found JPEG compression at quality {quality}, smoothed its blocks and restored detail.",)
    return (
        f"Found JPEG compression at quality {quality} and smoothed its blocks (the full-size run also "
        "restores the detail they hid).",
    )


def restore_photo(
    photo: Photo,
    instruction: str | Interpretation,
    **kwargs: object,
) -> tuple[Photo, RestoreResult]:
    """restore() on a Photo, returning a Photo that keeps the source's alpha, depth and metadata."""
    result = restore(photo, instruction, **kwargs)  # type: ignore[arg-type]
    return photo.with_pixels(result.pixels), result
