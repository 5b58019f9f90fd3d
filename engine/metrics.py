"""Full-reference quality metrics (PSNR, SSIM) used by `photomend compare` and the benchmarks."""

from __future__ import annotations

import cv2
import numpy as np


def _check(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"images differ in size: {a.shape[1]}x{a.shape[0]} vs {b.shape[1]}x{b.shape[0]}")


def psnr(restored: np.ndarray, reference: np.ndarray, *, border: int = 0) -> float:
    """PSNR in dB of float images in [0, 1] (peak 1); `border` pixels are cropped on each side."""
    _check(restored, reference)
    if border:
        restored = restored[border:-border, border:-border]
        reference = reference[border:-border, border:-border]
    mse = float(np.mean((restored.astype(np.float64) - reference.astype(np.float64)) ** 2))
    if mse <= 1e-20:
        return float("inf")
    return 10.0 * np.log10(1.0 / mse)


def ssim(restored: np.ndarray, reference: np.ndarray, *, border: int = 0) -> float:
    """Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5) over channels, images in [0, 1]."""
    _check(restored, reference)
    if border:
        restored = restored[border:-border, border:-border]
        reference = reference[border:-border, border:-border]
    x = restored.astype(np.float64) * 255.0
    y = reference.astype(np.float64) * 255.0
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    scores = []
    for ch in range(x.shape[2]):
        a, b = x[..., ch], y[..., ch]

        def blur(img: np.ndarray) -> np.ndarray:
            return cv2.GaussianBlur(img, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)[5:-5, 5:-5]

        mu_a, mu_b = blur(a), blur(b)
        var_a = blur(a * a) - mu_a**2
        var_b = blur(b * b) - mu_b**2
        cov = blur(a * b) - mu_a * mu_b
        num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
        den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
        scores.append(float(np.mean(num / den)))
    return float(np.mean(scores))
