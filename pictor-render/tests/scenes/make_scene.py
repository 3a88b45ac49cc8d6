# Saves Blender's factory scene with the settings a test asks for (JSON after `--`), as an artist
# would: run by pictor-render/tests/faithful.rs as
#   blender -b --factory-startup -noaudio --python make_scene.py -- '<json>'
import json
import sys

import bpy

options = json.loads(sys.argv[sys.argv.index("--") + 1])
scene = bpy.context.scene
render = scene.render
render.engine = "CYCLES"
render.resolution_x, render.resolution_y = options.get("size", [96, 64])
render.resolution_percentage = 100
cycles = scene.cycles
cycles.device = "CPU"
cycles.samples = options.get("samples", 16)
cycles.seed = options.get("seed", 0)
cycles.use_denoising = options.get("denoise", False)
cycles.use_adaptive_sampling = options.get("adaptive", False)
if "adaptive_threshold" in options:
    cycles.adaptive_threshold = options["adaptive_threshold"]

view = scene.view_settings
view.view_transform = options.get("view_transform", "Filmic")
view.look = options.get("look", "None")
view.exposure = options.get("exposure", 0.0)
view.gamma = options.get("gamma", 1.0)
render.dither_intensity = options.get("dither", 1.0)

if options.get("glare", False):
    scene.use_nodes = True
    tree = scene.node_tree
    layers = tree.nodes["Render Layers"]
    composite = tree.nodes["Composite"]
    glare = tree.nodes.new("CompositorNodeGlare")
    glare.glare_type = "FOG_GLOW"
    glare.threshold = 0.5
    tree.links.new(layers.outputs["Image"], glare.inputs["Image"])
    tree.links.new(glare.outputs["Image"], composite.inputs["Image"])

image = render.image_settings
image.file_format = options.get("file_format", "PNG")
if "color_depth" in options:
    image.color_depth = options["color_depth"]
if "quality" in options:
    image.quality = options["quality"]
render.filepath = options.get("filepath", "//render/frame_####")
bpy.ops.wm.save_as_mainfile(filepath=options["save_as"])
