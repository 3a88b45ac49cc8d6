"""The packed-copy cache key of the add-on (``session.scene_digest``) on hand-built .blend files:
user-interface blocks and their data do not count, anything else does, and a file it cannot read
(compressed, truncated) answers None so that the whole file is hashed instead. No Blender needed."""

from __future__ import annotations

import importlib.util
import struct
import sys
from pathlib import Path

# session.py has no bpy (the package's __init__ does): load the file alone.
SESSION = Path(__file__).resolve().parent.parent / "pictor_blender" / "session.py"
_spec = importlib.util.spec_from_file_location("pictor_blender_session", SESSION)
assert _spec is not None and _spec.loader is not None
session = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = session  # dataclasses look their module up while it loads
_spec.loader.exec_module(session)
scene_digest = session.scene_digest

BLOCK = struct.Struct("<4siQii")  # 64-bit little-endian block header, as Blender 3.x writes it.


def blend(blocks: list[tuple[bytes, bytes]], end: bool = True) -> bytes:
    """A .blend: the header, then each (code, payload) block, then ENDB."""
    out = b"BLENDER-v304"
    for code, payload in blocks:
        address = int.from_bytes(code, "little")  # Stable whatever blocks come before.
        out += BLOCK.pack(code, len(payload), address, 0, 1) + payload
    if end:
        out += BLOCK.pack(b"ENDB", 0, 0, 0, 0)
    return out


def digest_of(tmp_path: Path, data: bytes) -> str | None:
    path = tmp_path / "copy.blend"
    path.write_bytes(data)
    return scene_digest(path)


def scene(wm_status: bytes, resolution: bytes, thumbnail: bytes = b"") -> list[tuple[bytes, bytes]]:
    blocks = [(b"GLOB", b"glob"), (b"WM\0\0", b"wm"), (b"DATA", wm_status), (b"SC\0\0", b"scene"),
              (b"DATA", resolution), (b"DNA1", b"sdna")]
    if thumbnail:
        blocks.insert(0, (b"TEST", thumbnail))
    return blocks


def test_ui_blocks_do_not_count_and_scene_blocks_do(tmp_path: Path) -> None:
    base = digest_of(tmp_path, blend(scene(b"idle", b"160x96")))
    assert base is not None
    # The add-on's panel status lives on the window manager: a new quote is not a new scene.
    assert digest_of(tmp_path, blend(scene(b"quoted 0.0004", b"160x96"))) == base
    assert digest_of(tmp_path, blend(scene(b"idle", b"160x96", thumbnail=b"png"))) == base
    # Session flags in the global block differ inside an operator.
    flags = [(b"GLOB", b"other flags") if code == b"GLOB" else (code, data)
             for code, data in scene(b"idle", b"160x96")]
    assert digest_of(tmp_path, blend(flags)) == base
    # The scene's own data is.
    assert digest_of(tmp_path, blend(scene(b"idle", b"320x180"))) != base


def test_unreadable_files_answer_none(tmp_path: Path) -> None:
    assert digest_of(tmp_path, b"") is None
    assert digest_of(tmp_path, b"\x28\xb5\x2f\xfd" + b"zstd frame") is None  # compressed
    assert digest_of(tmp_path, blend(scene(b"idle", b"160x96"), end=False)) is None  # no ENDB
    truncated = blend(scene(b"idle", b"160x96"))[:-30]
    assert digest_of(tmp_path, truncated) is None
    assert digest_of(tmp_path, b"BLENDER?v304" + b"\0" * 40) is None  # unknown pointer size
