"""The operators: Quote, Render on Pictor, Cancel.

Two doors (STYLE.md rule 13): ``execute()`` blocks until the session ends — for scripts and
``blender -b``; ``invoke()`` starts the session on a background thread and ``modal()`` polls its
queue on a timer (never waiting on the network), honouring Esc. Only this main thread touches
``bpy``; the session's thread only talks to the network and the staged copy.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import bpy

from . import preferences
from .session import Session, SessionRequest, SessionStatus, stage_folder

# The session running in the background (modal door), for the Cancel button.
_active: Session | None = None

# Scene engines Pictor's Blender workers render with.
ENGINES = {"CYCLES": "cycles", "BLENDER_EEVEE": "eevee", "BLENDER_EEVEE_NEXT": "eevee"}


class UserError(Exception):
    """A setting the user must fix; the message is shown as is."""


def frames_text(scene) -> str:
    """The scene's frame range as a frame set (``"1-250"``, or ``"1,3,5"`` with a step)."""
    start, end, step = scene.frame_start, scene.frame_end, scene.frame_step
    if step == 1:
        return f"{start}-{end}"
    return ",".join(str(frame) for frame in range(start, end + 1, step))


def output_format(scene) -> str:
    """The network's output: the scene's own settings, so frames come back as this Blender writes
    them (colour management, compositor, file format and names)."""
    return "scene"


def delivered_settings(scene) -> list[tuple[str, str]]:
    """What the network renders with, as (text, icon) lines for the panel: the scene's own
    settings, and what a worker may not be able to honour."""
    render = scene.render
    view = scene.view_settings
    image = render.image_settings
    look = "" if view.look == "None" else f", look {view.look}"
    lines = [
        (f"{view.view_transform}{look}, exposure {view.exposure:+.2f}, gamma {view.gamma:.2f}",
         "COLOR"),
        (f"{image.file_format} {image.color_depth}-bit, dither {render.dither_intensity:.2f}",
         "FILE_IMAGE"),
    ]
    if render.use_compositing and scene.use_nodes:
        lines.append(("Compositor on", "NODETREE"))
    if render.engine == "CYCLES":
        cycles = scene.cycles
        if cycles.use_adaptive_sampling:
            lines.append((f"Adaptive sampling, noise threshold {cycles.adaptive_threshold:g}",
                          "TEXTURE"))
        if cycles.use_denoising:
            lines.append(("Denoising: only workers whose Blender has OpenImageDenoise", "ERROR"))
    if render.use_multiview:
        lines.append(("Stereo / multi-view is not delivered: turn it off", "ERROR"))
    return lines


def output_dir(scene) -> Path:
    """Where frames land: the folder of the scene's output path (``//render/`` → ``render``)."""
    return Path(os.path.dirname(bpy.path.abspath(scene.render.filepath)) or ".")


def resolution(scene) -> tuple[int, int]:
    """The scene's output size, percentage applied."""
    render = scene.render
    scale = render.resolution_percentage / 100.0
    return max(1, round(render.resolution_x * scale)), max(1, round(render.resolution_y * scale))


def build_request(context, submit: bool) -> SessionRequest:
    """Reads the scene and preferences and saves a copy of the .blend into a staging folder.
    The user's file and session are left as they are (``copy=True``); packing happens in the
    copy, in a separate headless Blender."""
    prefs = preferences.get(context)
    if not prefs.network_url.strip() or not prefs.api_key.strip():
        raise UserError("Set the network URL and API key in Preferences › Add-ons › Pictor.")
    scene = context.scene
    settings = scene.pictor
    engine = ENGINES.get(scene.render.engine)
    if engine is None:
        raise UserError("Pictor renders with Cycles or Eevee: switch the render engine.")
    width, height = resolution(scene)
    tier = prefs.default_tier if settings.tier == "default" else settings.tier
    user_file = bpy.data.filepath
    key = hashlib.sha1((user_file or "untitled").encode()).hexdigest()[:16]
    root = Path(tempfile.gettempdir()) / "pictor-blender"
    folder = stage_folder(root, key)
    main_file = os.path.basename(user_file) or "untitled.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(folder / main_file), copy=True, compress=False)
    binary = bpy.app.binary_path
    return SessionRequest(
        endpoint=prefs.network_url.strip(),
        api_key=prefs.api_key.strip(),
        folder=folder,
        main_file=main_file,
        frames=frames_text(scene),
        width=width,
        height=height,
        samples=settings.samples,
        tier=tier,
        output=output_format(scene),
        engine=engine,
        budget_cap=f"{settings.budget_cap:.6f}" if settings.budget_cap > 0 else None,
        out_dir=output_dir(scene),
        blender=binary if binary and os.path.isfile(binary) else None,
        submit=submit,
        resources=f"scene {scene.name}\nview layer {context.view_layer.name}\n"
        + external_resources(),
        pack_cache=root / f"{key}.packed",
        upscale=int(settings.upscale),
    )


# The bpy.data collections whose items may point at files that packing pulls into the copy.
RESOURCE_COLLECTIONS = ("images", "sounds", "movieclips", "fonts", "volumes", "cache_files")


def external_resources() -> str:
    """One line per external file the scene uses (absolute path, size, mtime in ns; "missing"
    when absent): packing reads them, so they are part of the packed-copy cache key."""
    lines = []
    for name in RESOURCE_COLLECTIONS:
        for item in getattr(bpy.data, name, ()):
            filepath = getattr(item, "filepath", "")
            if not filepath or getattr(item, "packed_file", None) is not None:
                continue
            path = bpy.path.abspath(filepath, library=item.library)
            try:
                stat = os.stat(path)
                lines.append(f"{path}\t{stat.st_size}\t{stat.st_mtime_ns}")
            except OSError:
                lines.append(f"{path}\tmissing")
    return "\n".join(sorted(lines))


def apply_status(window_manager, status: SessionStatus) -> None:
    """Copies a session's status into the properties the panel draws."""
    shown = window_manager.pictor_status
    shown.running = not status.finished
    shown.phase = status.phase
    shown.message = status.message
    shown.upload_fraction = (
        status.upload_done / status.upload_total if status.upload_total else 0.0
    )
    shown.quote_cost = status.quote_cost
    shown.quote_eta_secs = status.quote_eta_secs
    shown.job_id = status.job_id
    shown.frames_accepted = status.frames_accepted
    shown.frames_total = status.frames_total
    shown.frames_downloaded = status.frames_downloaded
    shown.cost_so_far = status.cost_so_far
    shown.last_error = status.last_error


def redraw_properties(context) -> None:
    """Redraws the Properties editors (the panel), if there is a screen."""
    screen = getattr(context, "screen", None)
    if screen is None:
        return
    for area in screen.areas:
        if area.type == "PROPERTIES":
            area.tag_redraw()


def tick(context, session: Session) -> SessionStatus:
    """One timer tick of the modal door: drain the session's queue (never waiting), show it."""
    status = session.poll()
    apply_status(context.window_manager, status)
    redraw_properties(context)
    return status


class _SessionOperator:
    """The shared two doors of Quote and Render."""

    submit = False

    def _prepare(self, context) -> Session | None:
        global _active
        shown = context.window_manager.pictor_status
        if _active is not None and _active.alive:
            self.report({"ERROR"}, "A Pictor quote or render is already running.")
            return None
        shown.last_error = ""
        try:
            request = build_request(context, self.submit)
        except UserError as error:
            shown.last_error = str(error)
            shown.phase = "failed"
            self.report({"ERROR"}, str(error))
            return None
        session = Session(request)
        _active = session
        apply_status(context.window_manager, session.status)
        shown.running = True
        return session

    def _finish(self, context, status: SessionStatus):
        apply_status(context.window_manager, status)
        redraw_properties(context)
        if status.last_error:
            self.report({"ERROR"}, status.last_error)
            return {"CANCELLED"}
        self.report({"INFO"}, status.message)
        return {"FINISHED"}

    def execute(self, context):
        """The blocking door: runs the whole session on this thread."""
        session = self._prepare(context)
        if session is None:
            return {"CANCELLED"}
        return self._finish(context, session.run())

    def invoke(self, context, event):
        """The interactive door: the session runs on a thread; ``modal`` polls it."""
        session = self._prepare(context)
        if session is None:
            return {"CANCELLED"}
        self._session = session
        session.start()
        window_manager = context.window_manager
        self._timer = window_manager.event_timer_add(0.1, window=context.window)
        window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        """Polls the session on each timer tick; Esc asks it to stop."""
        if event.type == "ESC":
            self._session.cancel()
            return {"RUNNING_MODAL"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        status = tick(context, self._session)
        if not status.finished:
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        return self._finish(context, status)


class PICTOR_OT_quote(_SessionOperator, bpy.types.Operator):
    """Upload a packed copy of the scene and ask the network what rendering it would cost"""

    bl_idname = "pictor.quote"
    bl_label = "Quote"
    submit = False


class PICTOR_OT_submit(_SessionOperator, bpy.types.Operator):
    """Upload a packed copy of the scene, render it on Pictor and download the frames into the
    output path as they are accepted"""

    bl_idname = "pictor.submit"
    bl_label = "Render on Pictor"
    submit = True


class PICTOR_OT_cancel(bpy.types.Operator):
    """Stop the running quote or render; a submitted job is cancelled and unused credits return"""

    bl_idname = "pictor.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context):
        return _active is not None and _active.alive

    def execute(self, context):
        if _active is not None:
            _active.cancel()
        self.report({"INFO"}, "Cancelling…")
        return {"FINISHED"}


_CLASSES = (PICTOR_OT_quote, PICTOR_OT_submit, PICTOR_OT_cancel)


def register() -> None:
    for cls in _CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    if _active is not None and _active.alive:
        _active.cancel()
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)
