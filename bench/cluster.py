"""Batch throughput: the local runner beside Ray with 1 and 2 workers, in one run on the same photos, what
limits it, and what a million-photo job would need, worked out from the measured per-photo cost.

    .venv/bin/python -m bench.cluster                       # 24 photos of 256 x 256, "remove the noise"
    .venv/bin/python -m bench.cluster --photos 48 --size 512 --prompt "it's way too dark"

Each runner restores the same photos into its own folder (the outputs are checked equal, byte for byte).
Ray is started once, on this machine's CPUs, before the Ray runs; its start-up is shown apart, and each Ray
run's time includes starting its workers (each loads its ONNX sessions once). Photos per minute are the
photos over the run's wall time; "steady" is the pace between the first and the last photo done, without
start-up. The estimate scales the measured CPU-seconds per photo to 12 MP by pixel count (restoration is
tiled: its cost grows with the pixels), which is an assumption, not a measurement.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from engine.batch import BatchSettings, ItemEvent, Journal, OutputStamp, plan_batch, prepare_job, run_batch
from engine.batch.naming import clash_key
from engine.instructions import interpret
from engine.io.limits import BYTES_PER_PIXEL

MILLION = 1_000_000
TARGET_MP = 12.0
#: the example cluster of the estimate: nodes of this many cores, one one-CPU worker per core (the measured
#: cost is a one-CPU worker's)
NODE_CORES = 32


def make_photos(folder: Path, count: int, size: int) -> None:
    """`count` noisy, textured JPEGs (quality 92) of size x size, as a scanned archive might hold."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    folder.mkdir(parents=True)
    for index in range(count):
        phase = rng.uniform(0, 6.28, 3)
        base = np.stack([0.5 + 0.3 * np.sin(6 * xx + 4 * yy + p) for p in phase], axis=-1)
        base += 0.05 * np.sin(90 * xx)[..., None] + rng.normal(0, 0.07, base.shape)
        pixels = (np.clip(base, 0, 1) * 255 + 0.5).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"scan{index:04d}.jpg", quality=92)


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.glob("*.jpg")}


class Pace:
    """Counts photos done and the time between the first and the last one."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self, event: ItemEvent) -> None:
        if event.status == "done":
            self.times.append(time.perf_counter())

    def steady(self) -> float | None:
        """Photos per minute between the first photo done and the last."""
        if len(self.times) < 2:
            return None
        return (len(self.times) - 1) / (self.times[-1] - self.times[0]) * 60


def driver_cost(photos: Path, scratch: Path, prompt: str) -> tuple[float, float]:
    """Seconds the driver spends per photo on its own (hash the source, key it, journal "writing" and
    "done", each fsynced) and its sha256 speed in MB/s: the ceiling of any number of workers."""
    scratch.mkdir(parents=True)
    journal = Journal(scratch).open()
    try:
        items, _ = plan_batch([photos], scratch, journal=journal)
        settings = BatchSettings.make(interpret(prompt))
        taken = {clash_key(item.output) for item in items}
        start = time.perf_counter()
        for item in items:
            taken.discard(clash_key(item.output))
            job = prepare_job(item, settings, journal, taken=taken)
            journal.record_writing(job.item.output, key=job.key, source=item.source, source_sha256="0")
            journal.record_done(
                job.item.output, key=job.key, source=item.source, source_sha256="0",
                stamp=OutputStamp(1, 1, "0"), details={},
            )  # fmt: skip
        per_photo = (time.perf_counter() - start) / max(len(items), 1)
    finally:
        journal.close()
    block = os.urandom(64 << 20)
    start = time.perf_counter()
    hashlib.sha256(block).hexdigest()
    return per_photo, 64 / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--size", type=int, default=256, help="photos are SIZE x SIZE (default 256)")
    parser.add_argument("--prompt", default="remove the noise")
    args = parser.parse_args(argv)

    import ray

    from engine.cluster import RayOptions, run_batch_on_ray

    cpus = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    photos = work / "photos"
    make_photos(photos, args.photos, args.size)
    instruction = interpret(args.prompt)
    megapixels = args.size * args.size / 1e6
    print(
        f"{args.photos} photos of {args.size} x {args.size} ({megapixels:.3f} MP), {args.prompt!r}; "
        f"{cpus} CPUs, load average {load:.1f} at the start"
    )

    rows: list[tuple[str, float, float | None, float]] = []  # (runner, photos/min, steady, CPUs used)
    pace = Pace()
    start = time.perf_counter()
    report = run_batch([photos], instruction, work / "local", on_item=pace)
    wall = time.perf_counter() - start
    assert len(report.done) == args.photos, report.summary()
    rows.append(("local runner (1 process)", args.photos / wall * 60, pace.steady(), float(cpus)))
    reference = outputs(work / "local")

    start = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, logging_level="warning")
    ray_start = time.perf_counter() - start
    try:
        for workers in (1, 2):
            pace = Pace()
            out = work / f"ray{workers}"
            start = time.perf_counter()
            report = run_batch_on_ray(
                [photos], instruction, out, ray=RayOptions(workers=workers), on_item=pace
            )
            wall = time.perf_counter() - start
            assert len(report.done) == args.photos, report.summary()
            assert outputs(out) == reference, "the Ray outputs differ from the local runner's"
            each = cpus / workers if cpus >= workers else 1.0
            name = f"Ray, {workers} worker{'s' * (workers > 1)} ({each:g} CPU{'s' * (each != 1)} each)"
            rows.append((name, args.photos / wall * 60, pace.steady(), float(min(cpus, workers * each))))
    finally:
        ray.shutdown()
    per_photo_driver, sha_mb_s = driver_cost(photos, work / "driver", args.prompt)

    print(f"\nRay start-up (ray.init, a local Ray on {cpus} CPUs): {ray_start:.1f} s, not counted below")
    print(f"{'runner':<34} {'photos/min':>11} {'steady':>8}   outputs")
    for name, per_min, steady, _ in rows:
        shown = f"{steady:8.1f}" if steady is not None else f"{'-':>8}"
        print(
            f"{name:<34} {per_min:11.1f} {shown}   {'reference' if name.startswith('local') else 'identical'}"
        )

    best = rows[-1]  # Ray, 2 one-CPU workers: the cost of a one-CPU worker, as the example cluster has
    steady = best[2] or best[1]
    cpu_seconds = 60 / steady * best[3]  # CPU-seconds per photo at the bench size
    cpu_seconds_12mp = cpu_seconds * TARGET_MP / megapixels
    core_hours = MILLION * cpu_seconds_12mp / 3600
    driver_ceiling = 60 / per_photo_driver
    hash_12mp = 4.0 / sha_mb_s  # a 12 MP JPEG of about 4 MB
    limits = [
        "",
        f"What limits it: each photo costs {cpu_seconds:.2f} CPU-seconds of restoring ({best[0]}, steady).",
        "A worker restores one photo at a time, so photos/min grows with the CPUs the workers hold,",
        f"up to the driver's own share: {per_photo_driver * 1000:.1f} ms a photo (hash, key, two fsynced",
        f"journal lines): a ceiling of {driver_ceiling:,.0f} photos/min; sha256 at {sha_mb_s:.0f} MB/s.",
        f"Here the {cpus} CPUs are the limit (shared: load {load:.1f}); Ray's start-up and each worker's",
        "session load are paid once per run.",
        "",
        f"A million photos of {TARGET_MP:g} MP: {cpu_seconds:.2f} CPU-s x {TARGET_MP:g} MP"
        f" / {megapixels:.3f} MP = {cpu_seconds_12mp:.0f} CPU-seconds a photo;",
        f"  x 1,000,000 = {core_hours:,.0f} core-hours.",
    ]
    print("\n".join(limits))
    memory_gb = BYTES_PER_PIXEL * TARGET_MP * 1e6 / 1e9  # what restoring one photo may take
    for nodes in (10, 50, 100):
        hours = core_hours / (nodes * NODE_CORES)
        print(
            f"  {nodes:>3} nodes of {NODE_CORES} cores, {NODE_CORES} one-CPU workers each: {hours:,.1f} hours"
        )
    print(
        f"  memory: restoring a {TARGET_MP:g} MP photo may take {memory_gb:.1f} GB, so {NODE_CORES} workers"
        f" need ~{memory_gb * NODE_CORES:.0f} GB a node;\n  with less, give each worker more CPUs"
        " (--ray-cpus-per-worker 4: a quarter of the workers, each photo spread over 4 cores)"
    )
    driver_hours = MILLION * (per_photo_driver + hash_12mp) / 3600
    print(
        f"  the driver's share of a million 12 MP photos (journal + sha256 of ~4 MB each): "
        f"{driver_hours:.1f} hours, overlapped with the restoring"
    )
    print("  GPU workers: not measured here (no GPU on this machine); run this bench on a GPU node.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
