"""Runs inside real Blender (``blender -b --factory-startup --python-exit-code 1 --python …``),
driven by ``test_addon.py``, against the real network it started. Installs the add-on zip, sets
the preferences, builds a tiny scene, and drives the operators through ``execute()``. Any failed
assertion exits non-zero. API keys come from the environment and are never printed.
"""

import hashlib
import os
import socket
import sys
import time
from pathlib import Path

import bpy

ENV = os.environ
WORK = Path(ENV["PICTOR_TEST_WORKDIR"])
URL = ENV["PICTOR_TEST_URL"]
KEY = ENV["PICTOR_TEST_KEY"]
POOR_KEY = ENV["PICTOR_TEST_POOR_KEY"]
EXR_MAGIC = b"\x76\x2f\x31\x01"


def log(*parts):
    print("addon-test:", *parts, flush=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_operator(operator) -> tuple[bool, str]:
    """Runs an operator's execute(); answers (finished, the panel's last error)."""
    try:
        finished = operator() == {"FINISHED"}
    except RuntimeError as error:  # An operator that reports an ERROR raises in scripts.
        log("operator reported:", str(error).strip())
        finished = False
    return finished, bpy.context.window_manager.pictor_status.last_error


# --- install the add-on from the built zip, as a user would ------------------------------------
bpy.ops.preferences.addon_install(filepath=ENV["PICTOR_TEST_ZIP"], overwrite=True)
bpy.ops.preferences.addon_enable(module="pictor_blender")
import pictor  # noqa: E402  (importable now: the add-on put its vendored package on sys.path)

addon_dir = Path(bpy.utils.user_resource("SCRIPTS")) / "addons" / "pictor_blender"
assert Path(pictor.__file__).resolve().is_relative_to(addon_dir.resolve() / "vendor"), pictor.__file__
log("pictor", pictor.__version__, "imported from the add-on's folder")

from pictor_blender import operators, session  # noqa: E402

# --- the user's scene: factory cube, tiny, two frames, EXR into //render/ -----------------------
scene = bpy.context.scene
scene.render.engine = "CYCLES"
scene.render.resolution_x, scene.render.resolution_y = 160, 96
scene.render.resolution_percentage = 100
scene.frame_start, scene.frame_end = 1, 2
scene.render.image_settings.file_format = "OPEN_EXR"
# Debian's Blender has no denoiser: a denoising scene fails on its workers (the panel says so).
scene.cycles.use_denoising = False
scene.render.filepath = "//render/"
scene.pictor.samples = 16
# The panel says what the network will use: the scene's own view transform, format, sampling.
delivered = [text for text, _ in operators.delivered_settings(scene)]
assert delivered[0].startswith(scene.view_settings.view_transform), delivered
assert any("OPEN_EXR" in text for text in delivered), delivered
assert not any("Denoising" in text for text in delivered), delivered
assert operators.output_format(scene) == "scene"
user_dir = WORK / "user"
user_dir.mkdir(parents=True, exist_ok=True)
user_blend = user_dir / "shot.blend"
bpy.ops.wm.save_as_mainfile(filepath=str(user_blend))
original = digest(user_blend)
original_mtime = user_blend.stat().st_mtime_ns
out_dir = user_dir / "render"


def assert_user_file_untouched(when: str) -> None:
    assert digest(user_blend) == original, f"the user's .blend changed ({when})"
    assert user_blend.stat().st_mtime_ns == original_mtime, f"the user's .blend was rewritten ({when})"
    assert bpy.data.filepath == str(user_blend), f"the session now points elsewhere ({when})"


prefs = bpy.context.preferences.addons["pictor_blender"].preferences
prefs.default_tier = "priority"

# --- 1. a wrong API key ----------------------------------------------------------------------
prefs.network_url, prefs.api_key = URL, "pk_wrong_key"
finished, error = run_operator(bpy.ops.pictor.quote)
assert not finished and "API key was refused" in error, error
assert_user_file_untouched("wrong key")
log("wrong key ->", error)

# --- 2. an unreachable network -----------------------------------------------------------------
free = socket.socket()
free.bind(("127.0.0.1", 0))
dead_url = f"http://127.0.0.1:{free.getsockname()[1]}"
free.close()
prefs.network_url, prefs.api_key = dead_url, KEY
finished, error = run_operator(bpy.ops.pictor.quote)
assert not finished and "Cannot reach the Pictor network" in error and dead_url in error, error
assert_user_file_untouched("unreachable network")
log("unreachable ->", error)

# --- 3. a quote (waiting for the Blender worker to come online) ---------------------------------
prefs.network_url, prefs.api_key = URL, KEY
deadline = time.monotonic() + 120
while True:
    finished, error = run_operator(bpy.ops.pictor.quote)
    if finished or "No worker" not in error or time.monotonic() > deadline:
        break
    time.sleep(1)
status = bpy.context.window_manager.pictor_status
assert finished and not error, error
assert status.quote_cost and float(status.quote_cost) > 0, status.quote_cost
assert not status.running
assert_user_file_untouched("quote")
log("quote ->", status.message)

# --- 3b. an unchanged scene is not uploaded again; a changed one is --------------------------------
# A packing Blender writes different bytes for the same scene; the add-on reuses the packed copy
# of the last quote or submit while nothing it was made from changed.
finished, error = run_operator(bpy.ops.pictor.quote)
assert finished and not error, error
sent_again = operators._active.status.bytes_sent
assert sent_again == 0, f"the unchanged scene was sent again: {sent_again} bytes"
bpy.ops.mesh.primitive_cube_add(location=(0.0, 0.0, -40.0))  # Out of the camera's view.
finished, error = run_operator(bpy.ops.pictor.quote)
assert finished and not error, error
sent_changed = operators._active.status.bytes_sent
assert sent_changed > 0, "a changed scene is uploaded"
assert_user_file_untouched("re-quote")
log(f"re-quote: unchanged scene sent {sent_again} bytes, changed {sent_changed}")

# --- 4. insufficient funds -----------------------------------------------------------------------
prefs.api_key = POOR_KEY
finished, error = run_operator(bpy.ops.pictor.submit)
assert not finished and "Not enough credits" in error, error
assert_user_file_untouched("insufficient funds")
assert not out_dir.exists() or not any(out_dir.iterdir()), "nothing was rendered"
log("insufficient funds ->", error)

# --- 5. the modal path: the UI thread never waits on the network --------------------------------
# In `blender -b` there is no window event loop, so this drives exactly what modal() does on each
# timer tick (operators.tick: drain the queue, copy into the panel's properties) while a packing
# Blender and a 160 MB upload run on the session's thread.
prefs.api_key = KEY
request = operators.build_request(bpy.context, submit=False)
(request.folder / "cache.bin").write_bytes(os.urandom(160 * 1024 * 1024))
background = session.Session(request)
background.start()
phases = []


def one_tick():
    phases.append(operators.tick(bpy.context, background).phase)


durations = session.time_ticks(one_tick, until=lambda: background.status.finished, every=0.02)
final = background.poll()
assert not final.last_error, final.last_error
assert final.quote_cost, "the quote arrived through the queue"
uploading_ticks = phases.count("uploading")
log(
    f"modal ticks: {len(durations)} ({uploading_ticks} while uploading), "
    f"slowest {max(durations) * 1000:.2f} ms"
)
assert uploading_ticks >= 5, f"the upload was in flight during the ticks: {phases}"
assert max(durations) < 0.05, f"a tick took {max(durations) * 1000:.1f} ms"
assert_user_file_untouched("modal ticks")

# --- 6. render on Pictor: frames land in the output path ----------------------------------------
finished, error = run_operator(bpy.ops.pictor.submit)
status = bpy.context.window_manager.pictor_status
assert finished and not error, error
assert status.job_id > 0 and status.frames_total == 2 and status.frames_accepted == 2, (
    status.job_id, status.frames_total, status.frames_accepted)
assert status.frames_downloaded == 2
assert status.cost_so_far and float(status.cost_so_far) > 0, status.cost_so_far
for frame in (1, 2):
    # The scene's own naming: "//render/" gives Blender's "0001.exr".
    path = out_dir / f"{frame:04d}.exr"
    assert path.is_file(), f"{path} was downloaded"
    assert path.read_bytes()[:4] == EXR_MAGIC, f"{path} is an EXR"
assert_user_file_untouched("render")
log("render ->", status.message)

# --- 7. the job is on the network as the panel says ---------------------------------------------
job = pictor.Client(URL, KEY).job(status.job_id)
assert job.state == "completed" and job.tasks_accepted == 2 and job.spent == status.cost_so_far

# --- 8. "upscale the result ×2": the rendered frames upscaled on the network beside them --------
if ENV.get("PICTOR_TEST_UPSCALE"):
    scene.pictor.upscale = "2"
    finished, error = run_operator(bpy.ops.pictor.submit)
    status = bpy.context.window_manager.pictor_status
    assert finished and not error, error
    for frame in (1, 2):
        path = out_dir / "x2" / f"frame_{frame:04d}.png"
        assert path.is_file(), f"{path} was downloaded"
        header = path.read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is a PNG"
        size = (int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big"))
        assert size == (320, 192), f"{path} is {size}, not twice the 160×96 render"
    assert_user_file_untouched("upscale")
    log("upscale ->", status.message)
    scene.pictor.upscale = "1"
log("all add-on checks passed")
