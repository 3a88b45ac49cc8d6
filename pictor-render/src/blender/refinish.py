# Pictor's refinishing script (pictor-render/src/blender/refinish.py).
#
# The checker's second check of a faithful frame: is the deliverable the finishing of its evidence?
# Blender loads the scene, and instead of rendering feeds the evidence (the worker's Render Result,
# a multilayer OpenEXR) to the scene's own finishing: every Render Layers node of the compositor is
# replaced by an Image node reading the same view layer's passes from the evidence (the combined
# image rebuilt by the Denoise node from the noisy image and the denoiser's guides when the scene
# denoises); without a compositor the evidence's combined pass goes straight to the Composite node.
# Blender then skips rendering (no Render Layers node is left), composites, applies the view
# transform and writes the file with the scene's output settings, exactly as the worker's Blender
# did. The checker compares that file with the deliverable.
#
# A constant: every value comes from a JSON spec (written by pictor_render::blender::finish) whose
# path follows `--`, or that a session (session.py) names. Markers on stdout as in override.py.

import json
import os
import sys


class PictorSceneError(Exception):
    """The scene or the evidence cannot be refinished as asked."""


def marker(name, payload=None):
    if payload is None:
        print("PICTOR_" + name, flush=True)
    else:
        print("PICTOR_" + name + " " + payload, flush=True)


def evidence_node(tree, image, layer_name, denoise):
    """An Image node reading `layer_name`'s passes from the evidence; with denoising, a Denoise
    node rebuilding the combined image beside it. Answers (node, combined_socket)."""
    node = tree.nodes.new("CompositorNodeImage")
    node.image = image
    node.layer = layer_name
    combined = node.outputs.get("Combined") or node.outputs.get("Image")
    if combined is None:
        raise PictorSceneError("the evidence has no combined pass for view layer %r" % layer_name)
    if denoise:
        noisy = node.outputs.get("Noisy Image")
        normal = node.outputs.get("Denoising Normal")
        albedo = node.outputs.get("Denoising Albedo")
        if noisy is None or normal is None or albedo is None:
            raise PictorSceneError("the evidence lacks the denoiser's passes for %r" % layer_name)
        denoiser = tree.nodes.new("CompositorNodeDenoise")
        denoiser.use_hdr = True
        if hasattr(denoiser, "prefilter"):
            denoiser.prefilter = "ACCURATE"
        tree.links.new(noisy, denoiser.inputs["Image"])
        tree.links.new(normal, denoiser.inputs["Normal"])
        tree.links.new(albedo, denoiser.inputs["Albedo"])
        combined = denoiser.outputs["Image"]
    return node, combined


def main(spec_path):
    import bpy

    with open(spec_path, "r", encoding="utf-8") as spec_file:
        spec = json.load(spec_file)

    loaded = bpy.data.filepath
    if not loaded or os.path.realpath(loaded) != os.path.realpath(spec["scene"]):
        raise PictorSceneError("Blender did not load the scene (it has %r open)" % loaded)

    scene = bpy.context.scene
    render = scene.render
    render.resolution_x = spec["width"]
    render.resolution_y = spec["height"]
    render.resolution_percentage = 100
    denoise = render.engine == "CYCLES" and scene.cycles.use_denoising
    adaptive = render.engine == "CYCLES" and scene.cycles.use_adaptive_sampling
    compositing = render.use_compositing and scene.use_nodes and scene.node_tree is not None

    # A wrong-sized evidence composites to a different image: the comparison catches it.
    image = bpy.data.images.load(spec["evidence"])

    scene.use_nodes = True
    tree = scene.node_tree
    if compositing:
        for layers in [node for node in tree.nodes if node.type == "R_LAYERS"]:
            node, combined = evidence_node(tree, image, layers.layer, denoise)
            for link in list(tree.links):
                if link.from_node != layers:
                    continue
                name = link.from_socket.name
                source = combined if name == "Image" else node.outputs.get(name)
                if source is None:
                    raise PictorSceneError("the evidence has no %r pass for view layer %r"
                                           % (name, layers.layer))
                tree.links.new(source, link.to_socket)
            tree.nodes.remove(layers)
    else:
        # No compositor: the combined pass is the image; build the one-link tree that says so.
        for node in list(tree.nodes):
            tree.nodes.remove(node)
        layer = bpy.context.view_layer.name
        node, combined = evidence_node(tree, image, layer, denoise)
        composite = tree.nodes.new("CompositorNodeComposite")
        tree.links.new(combined, composite.inputs["Image"])
        render.use_compositing = True
    render.use_sequencer = False
    # The checker compares decoded samples, not bytes, and a lossless codec's effort changes no
    # sample: write fast (PNG's zlib level 0 saves most of a second at 1080p). JPEG's quality and
    # lossy OpenEXR codecs change samples, so they stay as the scene says.
    settings = render.image_settings
    if settings.file_format == "PNG":
        settings.compression = 0
    elif settings.file_format in ("OPEN_EXR", "OPEN_EXR_MULTILAYER") and \
            settings.exr_codec in ("ZIP", "ZIPS", "PIZ", "RLE"):
        settings.exr_codec = "NONE"

    frame = spec["frame"]
    render.filepath = os.path.join(spec["out_dir"], os.path.basename(render.filepath))
    render.use_overwrite = True
    render.use_placeholder = False
    scene.frame_start = frame
    scene.frame_end = frame
    scene.frame_step = 1
    output = render.frame_path(frame=frame)
    marker("READY", json.dumps({"pid": os.getpid(), "version": bpy.app.version_string, "regions": 1}))
    marker("REGION", "0/1")
    bpy.ops.render.render(animation=True)
    if not os.path.isfile(output):
        raise PictorSceneError("Blender wrote no file at %r" % output)
    with open(spec["report"], "w", encoding="utf-8") as report:
        json.dump({"output": output, "adaptive_sampling": bool(adaptive), "denoise": bool(denoise)},
                  report)
    marker("PROGRESS", "1/1")
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
