# Pictor's Blender override script (pictor-render/src/blender/override.py): the raw, linear renders
# the verifier compares with (and jobs that name png, png16 or exr get).
#
# This file is a constant: no request data is ever pasted into it. Everything it needs (engine,
# resolution, samples, seed, frame, border fractions, per-render seeds, output paths, the optional
# setup script)
# comes from the JSON spec written by pictor_render::blender::script, whose path follows `--` on
# Blender's command line or which a session (session.py) names.
#
# Protocol (stdout, one line each, flushed):
#   PICTOR_READY {"pid": ..., "version": "x.y.z", "regions": n}   settings applied, rendering starts
#   PICTOR_REGION i/n                                               region i (0-based) starts
#   PICTOR_PROGRESS k/n                                             k regions written
#   PICTOR_DONE                                                     all regions written
#   PICTOR_ERROR {"kind": "scene_invalid" | "python", "message": "..."}   then the exception re-raised

import json
import os
import sys


class PictorSceneError(Exception):
    """The scene Blender loaded is not the one asked for, or cannot be rendered as asked."""


def marker(name, payload=None):
    if payload is None:
        print("PICTOR_" + name, flush=True)
    else:
        print("PICTOR_" + name + " " + payload, flush=True)


def expect(actual, wanted, what):
    if actual != wanted:
        raise PictorSceneError("Blender set %s to %r instead of %r" % (what, actual, wanted))


def main(spec_path):
    import bpy

    with open(spec_path, "r", encoding="utf-8") as spec_file:
        spec = json.load(spec_file)

    wanted_scene = spec["scene"]
    if wanted_scene is not None:
        loaded = bpy.data.filepath
        if not loaded or os.path.realpath(loaded) != os.path.realpath(wanted_scene):
            raise PictorSceneError("Blender did not load the scene (it has %r open)" % loaded)

    setup_script = spec["setup_script"]
    if setup_script is not None:
        # The operator's own trusted script (BlenderRenderer::with_setup_script); Pictor's overrides
        # below win over anything it sets.
        with open(setup_script, "r", encoding="utf-8") as setup_file:
            code = compile(setup_file.read(), setup_script, "exec")
        exec(code, {"__name__": "__pictor_setup__", "__file__": setup_script})

    scene = bpy.context.scene
    if scene.camera is None:
        raise PictorSceneError("the scene has no active camera")
    render = scene.render
    render.engine = spec["engine"]
    render.resolution_x = spec["width"]
    render.resolution_y = spec["height"]
    render.resolution_percentage = 100
    expect((render.resolution_x, render.resolution_y), (spec["width"], spec["height"]), "the resolution")
    # Pixels must be local: no compositing or sequencer (a blur would differ across region borders).
    render.use_compositing = False
    render.use_sequencer = False
    render.use_multiview = False
    render.use_persistent_data = bool(spec["persistent_data"])

    image_settings = render.image_settings
    image_settings.file_format = "OPEN_EXR"
    image_settings.color_depth = "32"
    image_settings.color_mode = "RGBA"
    image_settings.exr_codec = "ZIP"  # lossless
    image_settings.use_preview = False

    if spec["engine"] == "CYCLES":
        cycles = scene.cycles
        cycles.device = "CPU"
        cycles.samples = spec["samples"]
        cycles.seed = spec["seed"]
        cycles.use_animated_seed = False
        cycles.use_denoising = False
        if not spec.get("scene_sampling", False):
            # Exactly N samples per pixel; with scene_sampling the scene's adaptive sampling stays
            # (the checker's references for an adaptively sampled frame).
            cycles.use_adaptive_sampling = False
        cycles.time_limit = 0.0
        expect(cycles.samples, spec["samples"], "the samples")
        expect(cycles.seed, spec["seed"], "the seed")
    else:
        scene.eevee.taa_render_samples = spec["samples"]
        expect(scene.eevee.taa_render_samples, spec["samples"], "the samples")

    scene.frame_set(spec["frame"])
    expect(scene.frame_current, spec["frame"], "the frame")

    regions = spec["regions"]
    count = len(regions)
    marker("READY", json.dumps({"pid": os.getpid(), "version": bpy.app.version_string, "regions": count}))
    for index, region in enumerate(regions):
        border = region["border"]
        if border is None:
            render.use_border = False
        else:
            render.use_border = True
            render.use_crop_to_border = True
            render.border_min_x, render.border_max_x = border[0], border[1]
            render.border_min_y, render.border_max_y = border[2], border[3]
        seed = region.get("seed")
        if seed is not None and spec["engine"] == "CYCLES":
            scene.cycles.seed = seed
            expect(scene.cycles.seed, seed, "the seed")
        marker("REGION", "%d/%d" % (index, count))
        bpy.ops.render.render()
        # save_render, unlike write_still, takes the path literally (no `#` frame substitution).
        bpy.data.images["Render Result"].save_render(region["output"], scene=scene)
        marker("PROGRESS", "%d/%d" % (index + 1, count))
    marker("DONE")


def run(spec_path):
    """Runs one spec; an error is reported as a PICTOR_ERROR line, then re-raised (Blender then
    fails with --python-exit-code). The session script (session.py) calls this once per command."""
    try:
        main(spec_path)
    except BaseException as error:
        kind = "scene_invalid" if isinstance(error, PictorSceneError) else "python"
        message = "%s: %s" % (type(error).__name__, error)
        marker("ERROR", json.dumps({"kind": kind, "message": message}))
        raise


if __name__ == "__main__":
    run(sys.argv[sys.argv.index("--") + 1])
