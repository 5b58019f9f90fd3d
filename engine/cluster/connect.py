"""Reaching Ray: the lazy import (with the install hint), and a session for one run, local or a cluster's."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from engine.errors import DeviceError, PhotoMendError

INSTALL_HINT = "pip install 'photomend[cluster]'"


class ClusterUnavailable(PhotoMendError):
    """Ray (or pyarrow) is not installed: the CLI says how to install the `cluster` extra (exit 2)."""


class ClusterError(DeviceError):
    """The Ray cluster cannot be reached or cannot run the workers (no GPU for --device cuda, workers that
    cannot start or keep dying): the CLI's model-or-device error (exit 4)."""


@dataclass(frozen=True)
class RayOptions:
    """How a batch runs on Ray. Unset sizes come from the cluster's resources (engine.cluster.sizing)."""

    #: None: a local Ray started for the run (or the cluster $RAY_ADDRESS names); "auto", "HOST:PORT" or
    #: "ray://HOST:10001" (Ray Client): an existing cluster
    address: str | None = None
    workers: int | None = None
    cpus_per_worker: float | None = None
    gpus_per_worker: float | None = None
    #: environment variables for the workers (e.g. PHOTOMEND_DEVICE), through Ray's runtime_env
    env: Mapping[str, str] = field(default_factory=dict)
    #: times one photo is sent again after the worker restoring it died (Ray restarts the worker itself)
    retries: int = 2


def import_ray() -> ModuleType:
    """`ray`, or ClusterUnavailable with the install hint; also checks pyarrow (object-store inputs)."""
    try:
        import pyarrow  # noqa: F401  (the file system layer for s3:// and other URIs)
        import ray
    except ImportError as exc:
        raise ClusterUnavailable(
            f"--ray needs Ray, which is not installed ({exc.name or exc}): {INSTALL_HINT}"
        ) from None
    return ray


@contextmanager
def ray_session(address: str | None = None) -> Iterator[Any]:
    """Ray, connected for the duration of the block. A session the caller already started (a notebook, the
    tests) is used as it is and left running; otherwise a local Ray is started, or the cluster at `address`
    is joined, and shut down at the end. The caller's SIGINT/SIGTERM handlers are kept: ray.init replaces the
    SIGTERM one, and Ctrl-C and SIGTERM must cancel the batch cleanly."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False}
    if not address and not os.environ.get("RAY_ADDRESS"):
        kwargs["include_dashboard"] = False  # a local Ray for this run only
    handlers = {number: signal.getsignal(number) for number in _signals()}
    try:
        ray.init(address=address or None, **kwargs)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        where = f"the Ray cluster at {address}" if address else "Ray"
        hint = ""
        if address and address.startswith("ray://") and "timeout" in str(exc).lower():
            hint = " (a cluster that asks for a token needs RAY_AUTH_MODE=token and RAY_AUTH_TOKEN set here)"
        raise ClusterError(f"cannot start or reach {where}: {exc}{hint}") from None
    finally:
        _restore_handlers(handlers)
    try:
        yield ray
    finally:
        ray.shutdown()


def _signals() -> list[signal.Signals]:
    return [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])


def _restore_handlers(handlers: dict[signal.Signals, Any]) -> None:
    for number, handler in handlers.items():
        if handler is None:
            continue  # set from C, not from Python: nothing to put back
        try:
            signal.signal(number, handler)
        except ValueError:  # not the main thread
            return
