# Pictor's Blender session script (pictor-render/src/blender/session.py): one Blender process that
# keeps a scene loaded and runs several commands on it (pictor_render::blender::session). The
# checker verifies a frame with one process this way: the refinishing, the preview references and
# the tile references without a Blender start and a scene load each.
#
# A constant, like the scripts it runs. Its JSON spec (the path after `--`) names the scene and the
# two scripts it runs, written beside it by Rust:
#   {"scene": "/abs/scene.blend", "override": "/abs/pictor_override.py",
#    "refinish": "/abs/pictor_refinish.py"}
# Commands arrive on stdin, one JSON object a line:
#   {"kind": "render", "spec": "/abs/spec.json"}     override.py's run(spec)
#   {"kind": "refinish", "spec": "/abs/spec.json"}   refinish.py's run(spec)
# Each command answers with that script's markers (PICTOR_READY ... PICTOR_DONE). A failed command
# reports PICTOR_ERROR and ends the session (Blender exits non-zero): the scene's state is then
# unknown. End of input ends the session.
#
# The override script changes the scene (compositing, denoising and adaptive sampling off, its own
# output format), so a refinishing that follows a render reloads the scene from its file first. A
# render needs no reload after a refinishing: what the refinishing changes (the compositor's
# inputs, the output file's settings) is what the override script turns off or sets itself
# (tested: references rendered after a refinishing equal those of a fresh process).

import importlib.util
import json
import os
import sys


class PictorSceneError(Exception):
    """The scene Blender has open is not the session's."""


class CommandFailed(Exception):
    """A command's script failed and has reported why (its PICTOR_ERROR line)."""


def load_script(name, path):
    """Imports one of Pictor's constant scripts from the path Rust wrote it to."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    import bpy

    spec_path = sys.argv[sys.argv.index("--") + 1]
    with open(spec_path, "r", encoding="utf-8") as spec_file:
        spec = json.load(spec_file)
    scene_path = spec["scene"]
    loaded = bpy.data.filepath
    if not loaded or os.path.realpath(loaded) != os.path.realpath(scene_path):
        raise PictorSceneError("Blender did not load the scene (it has %r open)" % loaded)
    scripts = {
        "render": load_script("pictor_override", spec["override"]),
        "refinish": load_script("pictor_refinish", spec["refinish"]),
    }

    previous = None
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        kind = command["kind"]
        script = scripts.get(kind)
        if script is None:
            raise ValueError("unknown session command %r" % kind)
        if kind == "refinish" and previous == "render":
            bpy.ops.wm.open_mainfile(filepath=scene_path, load_ui=False)
        previous = kind
        try:
            script.run(command["spec"])
        except BaseException as error:
            raise CommandFailed(kind) from error


if __name__ == "__main__":
    try:
        main()
    except CommandFailed:
        raise
    except BaseException as error:
        # The command scripts report their own errors; this reports the session's.
        message = "%s: %s" % (type(error).__name__, error)
        kind = "scene_invalid" if isinstance(error, PictorSceneError) else "python"
        print("PICTOR_ERROR " + json.dumps({"kind": kind, "message": message}), flush=True)
        raise
