"""Synthetic degradations for training and calibration (numpy/OpenCV only, importable without torch)."""

from training.degradations.blur_kernels import apply_kernel, defocus_kernel, motion_kernel

__all__ = ["apply_kernel", "defocus_kernel", "motion_kernel"]
