# The scene of pictor-verify's Blender tests, built with Blender's Python: ground, an emissive
# sphere, a glossy cube that moves ~3 px per frame at 160x96, a sun, a camera. Run as
#   blender -b --factory-startup -noaudio --python lit_scene.py -- <out.blend> ['<json>']
# The optional JSON applies an artist's settings on top (verify_faithful.rs): "adaptive" (a noise
# threshold), "denoise" (default off), "samples" (default 32), "size" (default [160, 96]), "extra_exposure" (stops over 0.5), Filmic with a look, a glare
# compositor, 16-bit PNG output.
import bpy, sys
path = sys.argv[sys.argv.index("--") + 1]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
world = bpy.data.worlds.new("World")
world.color = (0.05, 0.06, 0.08)
scene.world = world
bpy.ops.mesh.primitive_plane_add(size=20)
bpy.ops.mesh.primitive_uv_sphere_add(radius=1.0, location=(-1.3, 0.0, 1.0))
glow = bpy.data.materials.new("Glow")
glow.use_nodes = True
bsdf = glow.node_tree.nodes["Principled BSDF"]
# "Emission" in Blender 3.x, "Emission Color" from 4.0.
emission = "Emission Color" if "Emission Color" in bsdf.inputs else "Emission"
bsdf.inputs[emission].default_value = (1.0, 0.5, 0.2, 1.0)
bsdf.inputs["Emission Strength"].default_value = 6.0
bpy.context.object.data.materials.append(glow)
bpy.ops.mesh.primitive_cube_add(size=1.6, location=(1.3, 0.3, 0.8))
cube = bpy.context.object
gloss = bpy.data.materials.new("Gloss")
gloss.use_nodes = True
nodes = gloss.node_tree.nodes
glossy = nodes.new("ShaderNodeBsdfGlossy")
glossy.inputs["Roughness"].default_value = 0.15
gloss.node_tree.links.new(glossy.outputs["BSDF"], nodes["Material Output"].inputs["Surface"])
cube.data.materials.append(gloss)
cube.location = (0.5, 0.3, 0.8)
cube.keyframe_insert(data_path="location", frame=1)
cube.location = (2.5, 0.3, 0.8)
cube.keyframe_insert(data_path="location", frame=21)
bpy.ops.object.light_add(type="SUN", location=(0, 0, 6), rotation=(0.6, 0.2, 0.3))
bpy.context.object.data.energy = 3.0
bpy.ops.object.camera_add(location=(0.0, -7.5, 3.2), rotation=(1.17, 0.0, 0.0))
scene.camera = bpy.context.object

if len(sys.argv) > sys.argv.index("--") + 2:
    import json
    options = json.loads(sys.argv[sys.argv.index("--") + 2])
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.use_denoising = bool(options.get("denoise", False))
    scene.cycles.samples = options.get("samples", 32)
    scene.render.resolution_x, scene.render.resolution_y = options.get("size", [160, 96])
    scene.render.resolution_percentage = 100
    scene.view_settings.exposure = 0.5 + options.get("extra_exposure", 0.0)
    threshold = options.get("adaptive")
    scene.cycles.use_adaptive_sampling = threshold is not None
    if threshold is not None:
        scene.cycles.adaptive_threshold = threshold
        scene.cycles.adaptive_min_samples = 0
    scene.view_settings.view_transform = "Filmic"
    scene.view_settings.look = "Medium High Contrast"
    scene.use_nodes = True
    tree = scene.node_tree
    glare = tree.nodes.new("CompositorNodeGlare")
    glare.glare_type = "FOG_GLOW"
    glare.threshold = 0.5
    tree.links.new(tree.nodes["Render Layers"].outputs["Image"], glare.inputs["Image"])
    tree.links.new(glare.outputs["Image"], tree.nodes["Composite"].inputs["Image"])
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_depth = "16"
    scene.render.filepath = "//render/shot_####"
bpy.ops.wm.save_as_mainfile(filepath=path)
