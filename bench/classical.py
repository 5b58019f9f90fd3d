"""Classical (non-learned) restoration baselines that bench/quality.py sets beside PhotoMend.

Each takes and returns float32 H x W x 3 RGB in [0, 1] and needs no knowledge of how the photo was
degraded (blind): parameters come from the photo itself. numpy + OpenCV only.

- denoise: OpenCV non-local means (fastNlMeansDenoisingColored), h from an Immerkaer noise estimate
- lowlight: gamma that brings the mean luminance to mid-grey
- dehaze: dark-channel prior (He, Sun, Tang 2009) with a guided-filter refined transmission (He 2010)
- deblur: unsharp mask (no kernel is known, so no Wiener deconvolution)
- lowlight + noise: gamma, then non-local means on the brightened photo
JPEG and rain have no classical baseline here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

__all__ = [
    "CLASSICAL",
    "brighten_gamma",
    "dehaze_dark_channel",
    "denoise_nlm",
    "estimate_noise_sigma",
    "guided_filter",
    "unsharp_mask",
]

# h = NLM_H_PER_SIGMA * sigma (8-bit units). Chosen on BSD432 images (never on the validation sets):
# see `python -m bench.classical --tune`.
NLM_H_PER_SIGMA = 0.6
UNSHARP_SIGMA = 3.0
UNSHARP_AMOUNT = 0.5
GAMMA_TARGET_MEAN = 0.42
DCP_PATCH = 15
DCP_OMEGA = 0.95
DCP_T_MIN = 0.1


def _to_u8(img: np.ndarray) -> np.ndarray:
    return np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)


def estimate_noise_sigma(img: np.ndarray) -> float:
    """Immerkaer (1996) noise sigma in [0, 1] units, averaged over channels.

    Pixels near strong edges are left out (Sobel above its 90th percentile): they inflate the estimate
    on textured photos.
    """
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    grey = img.mean(axis=2).astype(np.float32)
    edges = np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    keep = edges[1:-1, 1:-1] <= np.percentile(edges, 90)
    sigmas = []
    for c in range(img.shape[2]):
        response = cv2.filter2D(img[..., c].astype(np.float32), -1, kernel)[1:-1, 1:-1]
        sigmas.append(float(np.abs(response[keep]).mean()) * math.sqrt(math.pi / 2) / 6.0)
    return float(np.mean(sigmas))


def denoise_nlm(img: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """Non-local means on the 8-bit photo; `sigma` (in [0, 1] units) is estimated when not given."""
    sigma = estimate_noise_sigma(img) if sigma is None else sigma
    h = max(1.0, NLM_H_PER_SIGMA * sigma * 255.0)
    out = cv2.fastNlMeansDenoisingColored(_to_u8(img), None, h, h, 7, 21)
    return out.astype(np.float32) / 255.0


def brighten_gamma(img: np.ndarray, target_mean: float = GAMMA_TARGET_MEAN) -> np.ndarray:
    """out = img ** g with g chosen so the mean luminance becomes `target_mean` (g only brightens)."""
    mean = float(np.clip(img.mean(), 1e-4, 0.999))
    gamma = float(np.clip(math.log(target_mean) / math.log(mean), 0.1, 1.0))
    return np.power(np.clip(img, 0.0, 1.0), gamma).astype(np.float32)


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He, Sun, Tang (2010) guided filter with a grey guide: edge-aware smoothing of `src`."""
    size = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(src)
    cov_ip = box(guide * src) - mean_i * mean_p
    var_i = box(guide * guide) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return (box(a) * guide + box(b)).astype(np.float32)


def dehaze_dark_channel(img: np.ndarray) -> np.ndarray:
    """Dark-channel-prior dehazing: airlight from the haziest pixels, guided-filter refined transmission."""
    img = np.clip(img.astype(np.float32), 0.0, 1.0)
    element = cv2.getStructuringElement(cv2.MORPH_RECT, (DCP_PATCH, DCP_PATCH))
    dark = cv2.erode(img.min(axis=2), element)
    # Airlight: brightest input pixel among the 0.1 % haziest (highest dark channel) ones, per channel.
    count = max(1, dark.size // 1000)
    haziest = np.argpartition(dark.ravel(), -count)[-count:]
    flat = img.reshape(-1, 3)[haziest]
    airlight = flat[np.argmax(flat.sum(axis=1))].clip(0.05, 1.0)
    normalised = img / airlight[None, None, :]
    transmission = 1.0 - DCP_OMEGA * cv2.erode(normalised.min(axis=2), element)
    radius = max(8, round(min(img.shape[:2]) / 20))
    transmission = guided_filter(img.mean(axis=2), transmission.astype(np.float32), radius, 1e-3)
    t = np.maximum(transmission, DCP_T_MIN)[..., None]
    return np.clip((img - airlight) / t + airlight, 0.0, 1.0).astype(np.float32)


def unsharp_mask(img: np.ndarray, sigma: float = UNSHARP_SIGMA, amount: float = UNSHARP_AMOUNT) -> np.ndarray:
    """img + amount * (img - blur(img)): restores edge contrast lost to blur (blind: no kernel known)."""
    blurred = cv2.GaussianBlur(img.astype(np.float32), (0, 0), sigma)
    return np.clip(img + amount * (img - blurred), 0.0, 1.0).astype(np.float32)


def brighten_then_denoise(img: np.ndarray) -> np.ndarray:
    """Low light with noise: brighten first, then estimate and remove the (now amplified) noise."""
    return denoise_nlm(brighten_gamma(img))


#: Classical method per benchmark case kind (bench/quality.py); None where there is no classical baseline.
CLASSICAL: dict[str, Callable[[np.ndarray], np.ndarray] | None] = {
    "denoise": denoise_nlm,
    "deblur": unsharp_mask,
    "dehaze": dehaze_dark_channel,
    "lowlight": brighten_gamma,
    "lowlight+denoise": brighten_then_denoise,
    "jpeg": None,
    "derain": None,
}


def _tune(count: int) -> None:
    """Print PSNR of each baseline over a small parameter grid on BSD432 photos (not the validation sets)."""
    from pathlib import Path

    from engine.metrics import psnr
    from training.degradations.pipeline import degrade

    folder = Path(__file__).resolve().parents[2] / "shared" / "data" / "bsd432"
    paths = sorted(folder.glob("*.jpg"))[:count]
    images = [cv2.imread(str(p))[:, :, ::-1].astype(np.float32) / 255.0 for p in paths]

    def score(task: tuple[str, ...], level: object, method: Callable[[np.ndarray], np.ndarray]) -> float:
        values = []
        for i, img in enumerate(images):
            degraded = degrade(img, task, np.random.default_rng(i), level=level).image  # type: ignore[arg-type]
            values.append(psnr(method(degraded), img))
        return float(np.mean(values))

    for level in ("sigma25", "sigma50"):
        sigma_true = {"sigma25": 25 / 255, "sigma50": 50 / 255}[level]
        est = np.mean(
            [
                estimate_noise_sigma(degrade(im, ("denoise",), np.random.default_rng(0), level=level).image)
                for im in images
            ]
        )
        print(f"denoise {level}: estimated sigma {est * 255:.1f} (true {sigma_true * 255:.0f})")
        for factor in (0.45, 0.6, 0.75, 0.9):

            def method(x: np.ndarray, f: float = factor) -> np.ndarray:
                h = max(1.0, f * estimate_noise_sigma(x) * 255.0)
                return (
                    cv2.fastNlMeansDenoisingColored(_to_u8(x), None, h, h, 7, 21).astype(np.float32) / 255.0
                )

            print(f"  h/sigma {factor}: {score(('denoise',), level, method):.2f} dB")
    for level in ("motion", "defocus"):
        print(f"deblur {level}: input {score(('deblur',), level, lambda x: x):.2f} dB")
        for sigma in (1.0, 2.0, 3.0):
            for amount in (0.5, 1.0, 1.5):
                value = score(("deblur",), level, lambda x, s=sigma, a=amount: unsharp_mask(x, s, a))
                print(f"  unsharp sigma {sigma} amount {amount}: {value:.2f} dB")
    print(f"lowlight ev-3: input {score(('lowlight',), 'ev-3', lambda x: x):.2f} dB")
    for target in (0.3, 0.36, 0.42, 0.48):
        print(
            f"  gamma to mean {target}: "
            f"{score(('lowlight',), 'ev-3', lambda x, t=target: brighten_gamma(x, t)):.2f} dB"
        )
    print(
        f"dehaze medium: input {score(('dehaze',), 'medium', lambda x: x):.2f} dB, "
        f"dark channel {score(('dehaze',), 'medium', dehaze_dark_channel):.2f} dB"
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.classical", description=_tune.__doc__)
    parser.add_argument("--tune", action="store_true", required=True)
    parser.add_argument("--count", type=int, default=6, help="BSD432 photos to average over")
    _tune(parser.parse_args().count)
