"""The asyncio client against a real network."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import pictor
from conftest import tiny_spec
from pictor_network import Network


def test_async_client_uploads_submits_watches_and_downloads(
    network: Network, creator_key: str, scene_folder: Path, tmp_path: Path
) -> None:
    async def run() -> list[pictor.JobEvent]:
        client = pictor.AsyncClient(network.url, creator_key)
        account = await client.account()
        assert account.balance_micros == 100_000_000
        progress: list[pictor.UploadProgress] = []
        scene = await client.upload_folder(scene_folder, "scene.toml", progress=progress.append)
        assert progress and progress[-1].bytes_done == scene.total_size
        spec = tiny_spec(scene.id, frames="3-4")
        for _ in range(150):
            try:
                quote = await client.quote(spec)
                break
            except pictor.Infeasible:
                await asyncio.sleep(0.2)
        assert quote.cost_p90_micros > 0
        job = await client.submit(spec)
        # Two awaitables at once: the runtime drives both.
        again, frames_before = await asyncio.gather(client.job(job.id), client.frames(job.id))
        assert again.id == job.id and len(frames_before) <= 2
        events = [event async for event in client.watch(job.id)]
        downloaded = await client.download_frames(job.id, tmp_path / "out")
        assert sorted(frame.frame for frame in downloaded) == [3, 4]
        with pytest.raises(pictor.NotFound):
            await client.job(123_456_789)
        return events

    events = asyncio.run(run())
    assert events[0].kind == "submitted"
    assert events[-1].kind == "completed"
    assert sum(event.kind == "task_accepted" for event in events) == 2


def test_async_errors_raise_the_same_classes(network: Network) -> None:
    async def run() -> None:
        with pytest.raises(pictor.AuthError):
            await pictor.AsyncClient(network.url, "pk_wrong").account()

    asyncio.run(run())
