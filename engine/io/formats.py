"""Which file formats PhotoMend reads and writes, and how a suffix maps to a format name."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, features

# AVIF is built into Pillow >= 11.2 when the wheel ships libavif; older or slimmer builds lack it,
# so it is offered only where this Pillow can really decode it.
# (features.check warns about names an older Pillow does not know, hence the membership test.)
AVIF_AVAILABLE: bool = "avif" in features.modules and bool(features.check_module("avif"))

# HEIC/HEIF (pillow-heif), JPEG XL (pillow-jxl-plugin) and camera RAW (rawpy, LibRaw) are
# dependencies, but each is a compiled wheel that an unusual platform may lack: a missing one
# turns its suffixes off instead of breaking every other format.
try:
    import pillow_heif

    # Only HEIF: Pillow's own AVIF plugin stays the AVIF reader.
    pillow_heif.register_heif_opener()
    HEIF_AVAILABLE = True
except ImportError:  # pragma: no cover - every supported platform has a wheel
    HEIF_AVAILABLE = False

try:
    import pillow_jxl  # noqa: F401 - importing it registers the "JXL" plugin with Pillow

    JXL_AVAILABLE = True
except ImportError:  # pragma: no cover
    JXL_AVAILABLE = False

try:
    import rawpy  # noqa: F401

    RAW_AVAILABLE = True
except ImportError:  # pragma: no cover
    RAW_AVAILABLE = False

#: Camera RAW suffixes read through LibRaw: developed to 16-bit RGB, never written back.
RAW_SUFFIXES: frozenset[str] = frozenset(
    {
        ".dng",  # Adobe, and many phones
        ".cr2", ".cr3", ".crw",  # Canon
        ".nef", ".nrw",  # Nikon
        ".arw", ".srf", ".sr2",  # Sony
        ".raf",  # Fujifilm
        ".orf",  # OM System / Olympus
        ".rw2",  # Panasonic
        ".pef",  # Pentax
        ".srw",  # Samsung
        ".3fr", ".fff",  # Hasselblad
        ".iiq",  # Phase One
        ".rwl",  # Leica
        ".x3f",  # Sigma
        ".erf", ".kdc", ".dcr", ".mrw", ".mos",  # Epson, Kodak, Minolta, Leaf
    }
)  # fmt: skip

_SUFFIX_TO_FORMAT: dict[str, str] = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".jfif": "JPEG",
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
    ".bmp": "BMP",
}
if AVIF_AVAILABLE:
    _SUFFIX_TO_FORMAT[".avif"] = "AVIF"
if HEIF_AVAILABLE:
    _SUFFIX_TO_FORMAT.update({".heic": "HEIF", ".heif": "HEIF", ".hif": "HEIF"})
if JXL_AVAILABLE:
    _SUFFIX_TO_FORMAT[".jxl"] = "JXL"
if RAW_AVAILABLE:
    _SUFFIX_TO_FORMAT.update(dict.fromkeys(sorted(RAW_SUFFIXES), "RAW"))

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_SUFFIX_TO_FORMAT)

# Pillow plugins read_photo lets Image.open try. A whitelist keeps Pillow away from formats that
# shell out or parse exotic containers (EPS runs Ghostscript). Camera JPEGs with a multi-picture
# index come out of the JPEG plugin labelled "MPO"; they are JPEGs for every purpose here.
# RAW files do not go through Pillow: LibRaw reads them (engine.io.raw).
READ_FORMATS: tuple[str, ...] = (
    ("JPEG", "PNG", "TIFF", "WEBP", "BMP")
    + (("AVIF",) if AVIF_AVAILABLE else ())
    + (("HEIF",) if HEIF_AVAILABLE else ())
    + (("JXL",) if JXL_AVAILABLE else ())
)

#: Formats whose decoder applies the file's own orientation (HEIF's irot/imir boxes, JPEG XL's
#: codestream header, LibRaw's flip): their EXIF orientation is informative only and never applied again.
DECODER_ORIENTS: frozenset[str] = frozenset({"HEIF", "JXL", "RAW"})

# RAW is read-only: a developed photo is written as TIFF (16-bit) or the format the user chooses.
WRITE_FORMATS: frozenset[str] = frozenset(_SUFFIX_TO_FORMAT.values()) - {"RAW"}

_FORMAT_ALIASES: dict[str, str] = {
    "JPG": "JPEG",
    "TIF": "TIFF",
    "MPO": "JPEG",
    "HEIC": "HEIF",
    "JPEGXL": "JXL",
}

# What each output format can hold: lossy ones take a quality, some lack greyscale or alpha.
LOSSY_FORMATS: frozenset[str] = frozenset({"JPEG", "WEBP", "AVIF", "HEIF", "JXL"})
GREYSCALE_FORMATS: frozenset[str] = frozenset({"JPEG", "PNG", "TIFF", "BMP"})
# Pillow writes 32-bit BMPs but reads them back without alpha, as do many viewers: BMP is flattened.
ALPHA_FORMATS: frozenset[str] = frozenset({"PNG", "TIFF", "WEBP", "AVIF", "HEIF", "JXL"})
SIXTEEN_BIT_FORMATS: frozenset[str] = frozenset({"PNG", "TIFF"})

#: The suffix a developed RAW is written with unless the user chooses another format.
RAW_OUTPUT_SUFFIX = ".tif"


def format_for_suffix(path: Path | str) -> str | None:
    """Format name for a file's suffix ("JPEG" for .jpg, "RAW" for .nef), or None when unsupported."""
    return _SUFFIX_TO_FORMAT.get(Path(path).suffix.lower())


def is_raw(path: Path | str) -> bool:
    """Whether a file's suffix is a camera RAW one (read through LibRaw)."""
    return Path(path).suffix.lower() in RAW_SUFFIXES


def output_suffix(source: Path | str) -> str:
    """The suffix a restored copy of ``source`` gets by default: its own, or ".tif" for a RAW.

    A RAW is never written back as RAW (a developed photo is not sensor data); a 16-bit TIFF keeps
    all the precision LibRaw developed.
    """
    suffix = Path(source).suffix
    if suffix.lower() in RAW_SUFFIXES:
        return RAW_OUTPUT_SUFFIX
    return suffix


def normalize_format(name: str) -> str | None:
    """Canonical output format for a user-given name ("jpg" -> "JPEG"), or None when unsupported."""
    upper = name.strip().lstrip(".").upper()
    upper = _FORMAT_ALIASES.get(upper, upper)
    return upper if upper in WRITE_FORMATS else None


def registered_elsewhere(suffix: str) -> bool:
    """Whether Pillow knows ``suffix`` as an image format PhotoMend does not read (.gif, .ico...)."""
    return suffix not in SUPPORTED_SUFFIXES and suffix in Image.registered_extensions()
