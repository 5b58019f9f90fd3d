"""JPEG compression artefacts, single or double (a re-saved JPEG), through OpenCV's libjpeg."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["jpeg_compress"]


def _roundtrip(img8: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img8[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1]


def jpeg_compress(img: np.ndarray, quality: int, first_quality: int | None = None) -> np.ndarray:
    """Encode and decode at `quality` (1..100); with `first_quality`, save at that quality first.

    4:2:0 chroma subsampling (OpenCV's default) is kept: it is what cameras and the web produce.
    """
    img8 = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    if first_quality is not None:
        img8 = _roundtrip(img8, first_quality)
    return (_roundtrip(img8, quality).astype(np.float32) / 255.0).astype(np.float32)
