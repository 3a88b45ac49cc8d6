# Pictor's faithful-render script (pictor-render/src/blender/finish.py).
#
# Renders one frame the way the creator's own Blender would (`blender -b scene.blend -f N`): the
# scene's engine, colour management, denoiser, adaptive sampling, compositor, output format and
# naming all stay as the .blend has them. Only what the job overrides changes: resolution, samples,
# the Cycles seed (the verifier needs to know it), the frame, and the output format when the job
# names one. The deliverable is written by Blender's own animation writer, exactly as `-f N` does.
#
# Beside it the script saves the evidence the checker needs: the whole Render Result (every view
# layer with every pass, and the composite) as a 32-bit float multilayer OpenEXR. The view layer's
# Combined pass there is linear light before compositing and view transform (with denoising, the
# "Noisy Image" pass is the image before denoising).
#
# This file is a constant: every value comes from the JSON spec whose path follows `--`, written by
# pictor_render::blender::finish. It answers on stdout with the markers of override.py (READY,
# REGION, PROGRESS, DONE, ERROR) and writes what it did to the spec's `report` path.

import json
import os
import sys

# What Pictor can deliver as a still frame: Blender's image formats (movies are not frames).
STILL_FORMATS = {"PNG", "JPEG", "JPEG2000", "TIFF", "OPEN_EXR", "OPEN_EXR_MULTILAYER", "BMP",
                 "TARGA", "TARGA_RAW", "IRIS", "CINEON", "DPX", "HDR", "WEBP"}


class PictorSceneError(Exception):
    """The scene cannot be rendered faithfully as asked."""


def marker(name, payload=None):
    if payload is None:
        print("PICTOR_" + name, flush=True)
    else:
        print("PICTOR_" + name + " " + payload, flush=True)


def expect(actual, wanted, what):
    if actual != wanted:
        raise PictorSceneError("Blender set %s to %r instead of %r" % (what, actual, wanted))


def settings_of(scene, view_layers):
    """What Blender is about to use, reported to the worker (and shown to creators)."""
    render = scene.render
    view = scene.view_settings
    image = render.image_settings
    settings = {
        "engine": render.engine,
        "view_transform": view.view_transform,
        "look": view.look,
        "exposure": view.exposure,
        "gamma": view.gamma,
        "use_curve_mapping": bool(view.use_curve_mapping),
        "display_device": scene.display_settings.display_device,
        "dither": render.dither_intensity,
        "compositing": bool(render.use_compositing and scene.use_nodes and scene.node_tree is not None),
        "file_format": image.file_format,
        "color_depth": image.color_depth,
        "view_layers": [layer.name for layer in view_layers],
        "denoise": False,
        "adaptive_sampling": False,
        "adaptive_threshold": None,
        "adaptive_min_samples": None,
    }
    if render.engine == "CYCLES":
        cycles = scene.cycles
        settings["denoise"] = bool(cycles.use_denoising)
        settings["adaptive_sampling"] = bool(cycles.use_adaptive_sampling)
        if cycles.use_adaptive_sampling:
            settings["adaptive_threshold"] = cycles.adaptive_threshold
            settings["adaptive_min_samples"] = cycles.adaptive_min_samples
    return settings


def apply_output_override(image, output):
    if output is None:
        return
    image.file_format = output["file_format"]
    image.color_depth = output["color_depth"]
    if output["file_format"] in ("OPEN_EXR", "OPEN_EXR_MULTILAYER"):
        image.exr_codec = "ZIP"
    image.color_mode = "RGBA"


def main():
    import bpy

    spec_path = sys.argv[sys.argv.index("--") + 1]
    with open(spec_path, "r", encoding="utf-8") as spec_file:
        spec = json.load(spec_file)

    loaded = bpy.data.filepath
    if not loaded or os.path.realpath(loaded) != os.path.realpath(spec["scene"]):
        raise PictorSceneError("Blender did not load the scene (it has %r open)" % loaded)

    setup_script = spec["setup_script"]
    if setup_script is not None:
        # The operator's own trusted script (BlenderRenderer::setup_script).
        with open(setup_script, "r", encoding="utf-8") as setup_file:
            code = compile(setup_file.read(), setup_script, "exec")
        exec(code, {"__name__": "__pictor_setup__", "__file__": setup_script})

    scene = bpy.context.scene
    if scene.camera is None:
        raise PictorSceneError("the scene has no active camera")
    render = scene.render
    if spec["engine"] is not None:
        render.engine = spec["engine"]
    if render.engine not in ("CYCLES", "BLENDER_EEVEE", "BLENDER_EEVEE_NEXT"):
        raise PictorSceneError(
            "the scene renders with %s; Pictor renders Cycles and Eevee scenes" % render.engine)
    if render.use_multiview:
        raise PictorSceneError("stereoscopy / multi-view is on; Pictor delivers one view per frame")

    render.resolution_x = spec["width"]
    render.resolution_y = spec["height"]
    render.resolution_percentage = 100
    expect((render.resolution_x, render.resolution_y), (spec["width"], spec["height"]), "the resolution")

    image = render.image_settings
    apply_output_override(image, spec["output"])
    if image.file_format not in STILL_FORMATS:
        raise PictorSceneError(
            "the scene writes %s; Pictor delivers image frames (PNG, JPEG, OpenEXR, TIFF, ...)"
            % image.file_format)

    view_layers = [layer for layer in scene.view_layers if layer.use]
    if render.use_single_layer:
        view_layers = [bpy.context.view_layer]

    if render.engine == "CYCLES":
        cycles = scene.cycles
        cycles.device = "CPU"
        cycles.samples = spec["samples"]
        cycles.seed = spec["seed"]
        cycles.use_animated_seed = False
        # A time limit makes the sample count depend on the machine's speed.
        cycles.time_limit = 0.0
        expect(cycles.samples, spec["samples"], "the samples")
        expect(cycles.seed, spec["seed"], "the seed")
        if cycles.use_denoising and not cycles.denoiser:
            # Blender lists only the denoisers it was built with (Debian's 3.4 has none).
            raise PictorSceneError(
                "the scene asks for denoising and this Blender %s was built without a denoiser "
                "(OpenImageDenoise); a worker with an official Blender build renders it"
                % bpy.app.version_string)
        if cycles.use_denoising:
            # Evidence: the noisy image and the denoiser's guides, kept beside the denoised one.
            for layer in view_layers:
                layer.cycles.denoising_store_passes = True
    else:
        scene.eevee.taa_render_samples = spec["samples"]
        expect(scene.eevee.taa_render_samples, spec["samples"], "the samples")

    frame = spec["frame"]
    # Blender's own naming (`####` padding, the extension) in the task's folder.
    render.filepath = os.path.join(spec["out_dir"], os.path.basename(render.filepath))
    render.use_overwrite = True
    render.use_placeholder = False
    scene.frame_start = frame
    scene.frame_end = frame
    scene.frame_step = 1
    deliverable = render.frame_path(frame=frame)
    settings = settings_of(scene, view_layers)

    marker("READY", json.dumps({"pid": os.getpid(), "version": bpy.app.version_string, "regions": 1}))
    marker("REGION", "0/1")
    # What `blender -b scene.blend -f N` runs: the animation writer over one frame.
    bpy.ops.render.render(animation=True)
    if not os.path.isfile(deliverable):
        raise PictorSceneError("Blender wrote no file at %r" % deliverable)

    # The evidence: the Render Result, every layer and pass, linear float.
    image.file_format = "OPEN_EXR_MULTILAYER"
    image.color_depth = "32"
    image.exr_codec = "ZIP"
    bpy.data.images["Render Result"].save_render(spec["evidence"], scene=scene)
    with open(spec["report"], "w", encoding="utf-8") as report:
        json.dump({"deliverable": deliverable, "settings": settings}, report)
    marker("PROGRESS", "1/1")
    marker("DONE")


try:
    main()
except BaseException as error:  # report, then let Blender fail with --python-exit-code
    kind = "scene_invalid" if isinstance(error, PictorSceneError) else "python"
    message = "%s: %s" % (type(error).__name__, error)
    marker("ERROR", json.dumps({"kind": kind, "message": message}))
    raise
