#!/usr/bin/env python3
"""Builds the Blender add-on zip: ``dist/pictor_blender-<version>.zip``.

The zip holds one folder, ``pictor_blender/``, with the add-on's sources, the ``pictor`` wheel
under ``wheels/`` (installed by Blender 4.2+ from ``blender_manifest.toml``, whose ``wheels`` line
is rewritten to name it) and the same package unpacked under ``vendor/`` for Blender 3.x (an
extension module does not import from inside a zip). Usage:

    python3 bindings/blender/build.py [--wheel WHEEL] [--out DIR] [--unpack-in-place]

``--wheel`` defaults to the newest wheel in ``bindings/python/dist``; ``--unpack-in-place`` also
unpacks the package into ``pictor_blender/vendor`` (ignored by git) to run the add-on from source.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "pictor_blender"
WHEELS = HERE.parent / "python" / "dist"


def newest_wheel() -> Path:
    wheels = sorted(WHEELS.glob("pictor-*.whl"), key=lambda path: path.stat().st_mtime)
    if not wheels:
        sys.exit(f"no wheel in {WHEELS}: build one first (scripts/test-python does)")
    return wheels[-1]


def version() -> str:
    manifest = (SOURCE / "blender_manifest.toml").read_text()
    found = re.search(r'^version = "([^"]+)"', manifest, re.MULTILINE)
    if not found:
        sys.exit("blender_manifest.toml has no version")
    return found.group(1)


def package_entries(wheel: Path) -> list[tuple[str, bytes]]:
    """The ``pictor/`` files of the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        return [
            (name, archive.read(name))
            for name in archive.namelist()
            if name.startswith("pictor/") and not name.endswith("/")
        ]


def build(wheel: Path, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"pictor_blender-{version()}.zip"
    manifest = (SOURCE / "blender_manifest.toml").read_text()
    manifest = re.sub(
        r"^wheels = .*$", f'wheels = ["./wheels/{wheel.name}"]', manifest, flags=re.MULTILINE
    )
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(SOURCE.rglob("*")):
            relative = path.relative_to(SOURCE)
            if path.is_dir() or relative.parts[0] in ("vendor", "wheels", "__pycache__"):
                continue
            if "__pycache__" in relative.parts or path.suffix == ".pyc":
                continue
            name = f"pictor_blender/{relative.as_posix()}"
            if relative.name == "blender_manifest.toml":
                archive.writestr(name, manifest)
            else:
                archive.write(path, name)
        archive.write(wheel, f"pictor_blender/wheels/{wheel.name}")
        for name, data in package_entries(wheel):
            archive.writestr(f"pictor_blender/vendor/{name}", data)
    return target


def unpack_in_place(wheel: Path) -> None:
    vendor = SOURCE / "vendor"
    shutil.rmtree(vendor, ignore_errors=True)
    for name, data in package_entries(wheel):
        path = vendor / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="the pictor wheel (default: newest built)")
    parser.add_argument("--out", type=Path, default=HERE / "dist", help="output folder")
    parser.add_argument("--unpack-in-place", action="store_true")
    args = parser.parse_args()
    wheel = args.wheel or newest_wheel()
    target = build(wheel, args.out)
    if args.unpack_in_place:
        unpack_in_place(wheel)
    print(f"built {target} ({target.stat().st_size // 1024} KiB) with {wheel.name}")


if __name__ == "__main__":
    main()
