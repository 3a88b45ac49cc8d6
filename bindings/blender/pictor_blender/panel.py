"""The "Pictor" panel in Render Properties."""

import textwrap

import bpy

from . import operators, preferences


def _wrapped(layout, text: str, icon: str = "NONE", width: int = 60) -> None:
    """Draws `text` over several label lines."""
    for index, line in enumerate(textwrap.wrap(text, width) or [""]):
        layout.label(text=line, icon=icon if index == 0 else "BLANK1")


class PICTOR_PT_render(bpy.types.Panel):
    """Render the scene on a Pictor network."""

    bl_label = "Pictor"
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "render"

    def draw(self, context):
        layout = self.layout
        scene = context.scene
        settings = scene.pictor
        status = context.window_manager.pictor_status
        prefs = preferences.get(context)
        if not prefs.network_url.strip() or not prefs.api_key.strip():
            layout.label(text="Set the network URL and API key in Preferences › Add-ons › Pictor",
                         icon="ERROR")

        scene_box = layout.box()
        width, height = operators.resolution(scene)
        scene_box.label(text=f"Frames {operators.frames_text(scene)}", icon="RENDER_ANIMATION")
        scene_box.label(text=f"Resolution {width} × {height}", icon="IMAGE_DATA")
        scene_box.label(text=f"Frames go to {operators.output_dir(scene)}", icon="FILE_FOLDER")
        delivered = layout.box()
        delivered.label(text="Rendered as your Blender renders it:")
        for text, icon in operators.delivered_settings(scene):
            delivered.label(text=text, icon=icon)

        column = layout.column()
        column.prop(settings, "samples")
        column.prop(settings, "tier")
        column.prop(settings, "budget_cap")
        column.prop(settings, "upscale")

        row = layout.row(align=True)
        row.enabled = not status.running
        row.operator("pictor.quote", icon="INFO")
        row.operator("pictor.submit", icon="RENDER_STILL")
        layout.operator("pictor.cancel", icon="CANCEL")

        progress = layout.box()
        progress.label(text=status.message or "Ready", icon="TIME" if status.running else "NONE")
        if status.phase == "uploading":
            progress.prop(status, "upload_fraction", text="Upload", slider=True)
        if status.quote_cost:
            progress.label(
                text=f"Quote: up to {status.quote_cost} credits, about {status.quote_eta_secs:.0f} s"
            )
        if status.job_id:
            progress.label(
                text=f"Job {status.job_id}: {status.frames_accepted} / {status.frames_total} "
                f"frames accepted, {status.frames_downloaded} downloaded"
            )
            progress.label(text=f"Cost so far: {status.cost_so_far or '0'} credits")
        if status.last_error:
            _wrapped(progress, status.last_error, icon="ERROR")


def register() -> None:
    bpy.utils.register_class(PICTOR_PT_render)


def unregister() -> None:
    bpy.utils.unregister_class(PICTOR_PT_render)
