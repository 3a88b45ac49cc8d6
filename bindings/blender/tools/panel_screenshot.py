#!/usr/bin/env python3
"""Renders docs/images/blender-panel.png: starts a real network (Blender worker, checker), then
Blender under Xvfb with the add-on, runs a real quote through the interactive door
(`INVOKE_DEFAULT`: invoke() + modal() on a timer, timing every modal() tick) and screenshots the
Render Properties panel.

    bindings/python/.venv/bin/python bindings/blender/tools/panel_screenshot.py

Needs xvfb-run, Blender, the add-on zip's wheel built (scripts/test-python) and PICTOR_BIN.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(REPO / "bindings" / "python" / "tests"))

from pictor_network import Network  # noqa: E402


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="pictor-shot-"))
    subprocess.run([sys.executable, str(HERE.parent / "build.py"), "--out", str(work)], check=True)
    addon_zip = next(work.glob("pictor_blender-*.zip"))
    target = REPO / "docs" / "images" / "blender-panel.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    (work / "fb").mkdir()
    network = Network(work / "network")
    try:
        network.start_worker("blender-worker", renderer="blender")
        network.start_checker()
        _, key = network.account("creator", "artist", credits="100")
        env = {
            **os.environ,
            "PICTOR_SHOT_ZIP": str(addon_zip),
            "PICTOR_SHOT_URL": network.url,
            "PICTOR_SHOT_KEY": key,
            "PICTOR_SHOT_OUT": "//render/",
            "PICTOR_SHOT_BLEND": str(work / "shot.blend"),
            "PICTOR_SHOT_PNG": str(target),
            "PICTOR_SHOT_FB": str(work / "fb"),
            "BLENDER_USER_SCRIPTS": str(work / "scripts"),
            "BLENDER_USER_CONFIG": str(work / "config"),
        }
        # Opening a file (not the startup file) keeps the splash screen away.
        subprocess.run(
            ["blender", "-b", "--factory-startup", "--python-expr",
             f"import bpy; bpy.ops.wm.save_as_mainfile(filepath={str(work / 'shot.blend')!r})"],
            check=True, capture_output=True,
        )
        subprocess.run(
            ["xvfb-run", "-a", "-s", f"-screen 0 1600x1000x24 -fbdir {work / 'fb'}", "blender", "--factory-startup",
             str(work / "shot.blend"), "--python", str(HERE / "panel_screenshot_in_blender.py")],
            env=env, check=True, timeout=300,
        )
    finally:
        network.close()
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
