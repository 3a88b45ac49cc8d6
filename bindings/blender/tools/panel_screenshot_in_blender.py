"""Runs inside Blender with a window (under Xvfb): installs the add-on zip, opens Render
Properties, runs the real Quote operator (INVOKE_DEFAULT: the modal door) against the network, and
saves a screenshot of the panel. Driven by ``panel_screenshot.py``; keys are never printed."""

import os
import struct
import time
import zlib

import bpy

ENV = os.environ


def setup():
    bpy.ops.preferences.addon_install(filepath=ENV["PICTOR_SHOT_ZIP"], overwrite=True)
    bpy.ops.preferences.addon_enable(module="pictor_blender")
    prefs = bpy.context.preferences.addons["pictor_blender"].preferences
    prefs.network_url, prefs.api_key = ENV["PICTOR_SHOT_URL"], ENV["PICTOR_SHOT_KEY"]
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.render.resolution_x, scene.render.resolution_y = 160, 96
    scene.frame_start, scene.frame_end = 1, 24
    scene.render.filepath = ENV["PICTOR_SHOT_OUT"]
    scene.pictor.samples = 16
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == "VIEW_3D")
    area.type = "PROPERTIES"
    return 1.0


def shoot():
    window = bpy.context.window_manager.windows[0]
    # The big 3D viewport becomes a Properties editor on the Render tab, scrolled to the panel.
    area = next(a for a in window.screen.areas if a.type == "PROPERTIES" and a.width > 800)
    area.spaces.active.context = "RENDER"
    region = next(r for r in area.regions if r.type == "WINDOW")
    from pictor_blender import operators

    untimed = operators.tick

    def timed_tick(context, session):
        started = time.perf_counter()
        try:
            return untimed(context, session)
        finally:
            ticks.append(time.perf_counter() - started)

    operators.tick = timed_tick  # modal() looks it up on each timer event.
    with bpy.context.temp_override(window=window, area=area, region=region):
        # The interactive door: invoke() starts the session's thread, modal() polls it on a timer.
        result = bpy.ops.pictor.quote("INVOKE_DEFAULT")
    print("panel-shot: quote", result, flush=True)
    gaps.append(time.perf_counter())
    bpy.app.timers.register(watch_ui, first_interval=0.02)
    return None  # watch_ui resumes the steps once the quote is done.


gaps = []
ticks = []


def watch_ui():
    """Measures how regularly the UI thread runs timers while the modal quote is in flight."""
    gaps.append(time.perf_counter())
    if bpy.context.window_manager.pictor_status.running:
        return 0.02
    intervals = [b - a for a, b in zip(gaps, gaps[1:])]
    print(
        f"panel-shot: modal quote done: {len(ticks)} modal() ticks, slowest "
        f"{max(ticks, default=0) * 1000:.2f} ms; {len(intervals)} UI timer runs, longest gap "
        f"{max(intervals) * 1000:.0f} ms (drawing included); "
        f"error {bpy.context.window_manager.pictor_status.last_error!r}",
        flush=True,
    )
    bpy.app.timers.register(run_next, first_interval=0.5)
    return None


def scroll():
    window = bpy.context.window_manager.windows[0]
    for area in window.screen.areas:
        if area.type != "PROPERTIES":
            continue
        region = next(r for r in area.regions if r.type == "WINDOW")
        with bpy.context.temp_override(window=window, area=area, region=region):
            for _ in range(40):
                bpy.ops.view2d.scroll_down(deltay=100)
    return 1.5


def xwd_to_png(xwd: bytes, png_path: str) -> None:
    """Converts Xvfb's framebuffer file (XWD, 32 bits per pixel, BGRX) into a PNG. Blender's own
    screenshot operator crashes on Xvfb's software OpenGL, so the screen is read from outside."""
    fields = struct.unpack(">25I", xwd[:100])
    header_size, width, height = fields[0], fields[4], fields[5]
    bits_per_pixel, bytes_per_line, ncolors = fields[11], fields[12], fields[19]
    if bits_per_pixel != 32:
        raise ValueError(f"unexpected {bits_per_pixel} bits per pixel")
    start = header_size + ncolors * 12
    rows = []
    for y in range(height):
        line = xwd[start + y * bytes_per_line: start + y * bytes_per_line + width * 4]
        rgb = bytearray(width * 3)
        rgb[0::3], rgb[1::3], rgb[2::3] = line[2::4], line[1::4], line[0::4]
        rows.append(b"\x00" + bytes(rgb))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b"")
    with open(png_path, "wb") as out:
        out.write(png)


def save():
    with open(os.path.join(ENV["PICTOR_SHOT_FB"], "Xvfb_screen0"), "rb") as framebuffer:
        xwd_to_png(framebuffer.read(), ENV["PICTOR_SHOT_PNG"])
    print("panel-shot: saved", flush=True)
    bpy.ops.wm.quit_blender()


steps = [setup, shoot, scroll, save]


def run_next():
    if not steps:
        return None
    try:
        return steps.pop(0)()
    except Exception as error:  # Reported, then Blender quits with an error.
        print("panel-shot: failed:", error, flush=True)
        os._exit(1)


bpy.app.timers.register(run_next, first_interval=2.0)
