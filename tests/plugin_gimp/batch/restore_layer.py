"""Batch: load a photo, run PhotoMend Restore through the PDB, dump the new layer, report its placement."""

import sys

sys.path.insert(0, __import__("os").environ["PHOTOMEND_BATCH_DIR"])
from common import ARGS, Gimp, Gio, dump_layer, emit, layer_names, load, run_procedure  # noqa: E402

image = load(ARGS["photo"])
source = image.get_layers()[0]
if ARGS.get("precision"):  # e.g. "FLOAT_NON_LINEAR": the image converted to it before the run
    image.convert_precision(getattr(Gimp.Precision, ARGS["precision"]))
if ARGS.get("canvas"):  # [width, height, x, y]: a canvas larger than the layer, the layer at (x, y)
    image.resize(*ARGS["canvas"])
if ARGS.get("select"):
    image.select_rectangle(Gimp.ChannelOps.REPLACE, *ARGS["select"])
image_size_before = [image.get_width(), image.get_height()]
original = dump_layer(source, ARGS["dump"] + "-original.f32")  # before the run: an enlargement scales it
status, values = run_procedure(
    "plug-in-photomend-restore",
    image,
    source,
    Gimp.RunMode.NONINTERACTIVE,
    instruction=ARGS["instruction"],
    strength=ARGS.get("strength", 1.0),
    output=ARGS.get("output", "new-layer"),
)
fields = {
    "status": status,
    "layers": layer_names(image),
    "precision": image.get_precision().value_nick,
    "image_size_before": image_size_before,
    "image_size": [image.get_width(), image.get_height()],
    "original": original,
}
if status == "success":
    new_layer, report = values[0], values[1]
    new_image = new_layer.get_image()
    mask = new_layer.get_mask()
    fields.update(
        report=report,
        new_layer=new_layer.get_name(),
        new_has_mask=mask is not None,
        mask=dump_layer(mask, ARGS["dump"] + "-mask.f32") if mask is not None else None,
        new_image_layers=layer_names(new_image) if new_image != image else [],
        new_is_above=new_image == image
        and image.get_item_position(new_layer) < image.get_item_position(source),
        new_offsets=list(new_layer.get_offsets()[1:]),
        source_offsets=list(source.get_offsets()[1:]),
        source=dump_layer(source, ARGS["dump"] + "-source.f32"),
        restored=dump_layer(new_layer, ARGS["dump"] + "-restored.f32"),
        new_image=new_image != image,
        new_image_size=[new_image.get_width(), new_image.get_height()],
        new_image_precision=new_image.get_precision().value_nick,
        new_image_base_type=new_image.get_base_type().value_nick,
    )
    if ARGS.get("export"):  # the image the result went to, as a file (for looking at it by hand)
        Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, new_image, Gio.File.new_for_path(ARGS["export"]), None)
else:
    fields["error"] = values[0] if values else ""
emit(**fields)
