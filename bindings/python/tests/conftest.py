"""Fixtures: one real network per test module (coordinator, a built-in-renderer worker, a checker)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import pictor
from pictor_network import REPO, Network

DEMO_SCENE = REPO / "examples" / "scenes" / "demo" / "scene.toml"


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """A coordinator with two workers (built-in renderer) and one checker online. Two, so a frame
    a checker rejects (and the worker it blocks) does not stall a job."""
    net = Network(tmp_path_factory.mktemp("network"))
    try:
        net.start_worker("w1", price="2")
        net.start_worker("w2", price="3")
        net.start_checker()
        yield net
    finally:
        net.close()


@pytest.fixture(scope="module")
def creator(network: Network) -> pictor.Client:
    """A creator with 100 credits."""
    _, key = network.account("creator", "studio", credits="100")
    return pictor.Client(network.url, key, timeout=30)


@pytest.fixture(scope="module")
def creator_key(network: Network) -> str:
    """The API key of a second creator with 100 credits (for the asyncio tests)."""
    _, key = network.account("creator", "async-studio", credits="100")
    return key


@pytest.fixture()
def scene_folder(tmp_path: Path) -> Path:
    """A copy of the built-in renderer's demo scene in its own folder."""
    folder = tmp_path / "scene"
    folder.mkdir()
    shutil.copy(DEMO_SCENE, folder / "scene.toml")
    return folder


def tiny_spec(scene: str, frames: str = "1-2", **extra: object) -> pictor.JobSpec:
    """A job small enough to render in a second on a CPU, big enough for the checker's statistics
    (smaller, or 8-bit PNG, and honest frames are too noisy or too quantised to verify reliably)."""
    return pictor.JobSpec(
        scene,
        frames,
        renderer="builtin",
        width=192,
        height=108,
        samples=16,
        output="exr",
        **extra,  # type: ignore[arg-type]
    )


def quote_when_online(client: pictor.Client, spec: pictor.JobSpec) -> pictor.Quote:
    """Quotes `spec`, waiting (up to 30 s) for the worker to come online."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return client.quote(spec)
        except pictor.Infeasible:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
