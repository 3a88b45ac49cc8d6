"""Scene settings of a Pictor render, and the live status the panel shows (on the window manager,
so it is never saved into the user's file)."""

import bpy

from .preferences import TIERS


class PictorSceneSettings(bpy.types.PropertyGroup):
    """Per-scene render settings; frame range, resolution and output come from the scene."""

    samples: bpy.props.IntProperty(
        name="Samples", description="Samples per pixel on the network", default=64, min=1,
        max=1 << 20,
    )
    tier: bpy.props.EnumProperty(
        name="Tier",
        items=(("default", "Default", "The tier set in the add-on's preferences"),) + TIERS,
        default="default",
    )
    budget_cap: bpy.props.FloatProperty(
        name="Budget cap",
        description="Most to pay for this render, in credits (0: no cap)",
        default=0.0, min=0.0, precision=6,
    )
    upscale: bpy.props.EnumProperty(
        name="Upscale",
        description=(
            "After the render, upscale its frames on Pictor with the SPAN model (verified by "
            "checkers like the render) into a folder beside them: x2 or x4. Frames in PNG, JPEG "
            "or EXR (EXR is shown through the standard sRGB transform)"
        ),
        items=(
            ("1", "Off", "Deliver the frames as rendered"),
            ("2", "×2", "Also deliver the frames upscaled ×2"),
            ("4", "×4", "Also deliver the frames upscaled ×4"),
        ),
        default="1",
    )


class PictorStatus(bpy.types.PropertyGroup):
    """The live state of the last quote or render, drawn by the panel."""

    running: bpy.props.BoolProperty(name="Running", default=False)
    phase: bpy.props.StringProperty(name="Phase", default="idle")
    message: bpy.props.StringProperty(name="Message")
    upload_fraction: bpy.props.FloatProperty(name="Upload", min=0.0, max=1.0, subtype="FACTOR")
    quote_cost: bpy.props.StringProperty(name="Quote")
    quote_eta_secs: bpy.props.FloatProperty(name="ETA")
    job_id: bpy.props.IntProperty(name="Job")
    frames_accepted: bpy.props.IntProperty(name="Frames accepted")
    frames_total: bpy.props.IntProperty(name="Frames")
    frames_downloaded: bpy.props.IntProperty(name="Frames downloaded")
    cost_so_far: bpy.props.StringProperty(name="Cost so far")
    last_error: bpy.props.StringProperty(name="Last error")


_CLASSES = (PictorSceneSettings, PictorStatus)


def register() -> None:
    for cls in _CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.pictor = bpy.props.PointerProperty(type=PictorSceneSettings)
    bpy.types.WindowManager.pictor_status = bpy.props.PointerProperty(type=PictorStatus)


def unregister() -> None:
    del bpy.types.WindowManager.pictor_status
    del bpy.types.Scene.pictor
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)
