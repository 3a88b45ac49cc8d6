"""The blocking client against a real network: upload, quote, submit, watch, download, control."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import cast

import pytest

import pictor
from pictor.events import TaskAcceptedData
from conftest import quote_when_online, tiny_spec
from pictor_network import Network

EXR_MAGIC = b"\x76\x2f\x31\x01"


def credits_text(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def test_account_shows_the_deposited_balance_exactly(network: Network) -> None:
    account_id, key = network.account("creator", "balance-check", credits="12.5")
    account = pictor.Client(network.url, key).account()
    assert account.id == account_id
    assert account.role == "creator"
    assert account.name == "balance-check"
    assert account.balance_micros == 12_500_000
    assert account.balance == "12.500000"


def test_upload_folder_reports_progress_and_never_resends(
    creator: pictor.Client, scene_folder: Path
) -> None:
    seen: list[pictor.UploadProgress] = []
    first = creator.upload_folder(scene_folder, "scene.toml", progress=seen.append)
    assert len(first.id) == 64
    assert first.files == 1
    assert first.total_size == (scene_folder / "scene.toml").stat().st_size
    assert seen, "the progress callback was called"
    assert seen[-1].bytes_done == seen[-1].bytes_total == first.total_size
    assert seen[-1].files_done == seen[-1].files_total == 1
    # Unchanged: same asset, nothing sent again.
    again = creator.upload_folder(str(scene_folder), "scene.toml")
    assert again.id == first.id
    assert again.bytes_sent == 0
    assert again.blobs_skipped == 1


def test_upload_file_sends_a_blob_once(creator: pictor.Client, tmp_path: Path) -> None:
    blob = tmp_path / "texture.bin"
    blob.write_bytes(b"pixels" * 1000)
    first = creator.upload_file(blob)
    assert first.size == 6000 and first.bytes_sent == 6000 and len(first.hash) == 64
    assert creator.upload_file(blob).bytes_sent == 0


def test_a_progress_callback_exception_is_raised_after_the_upload(
    creator: pictor.Client, scene_folder: Path
) -> None:
    def explode(_: pictor.UploadProgress) -> None:
        raise ValueError("stop")

    with pytest.raises(ValueError, match="stop"):
        creator.upload_folder(scene_folder, "scene.toml", progress=explode)


def test_quote_submit_watch_download(
    creator: pictor.Client, scene_folder: Path, tmp_path: Path
) -> None:
    scene = creator.upload_folder(scene_folder, "scene.toml")
    spec = tiny_spec(scene.id)
    quote = quote_when_online(creator, spec)
    assert 0 < quote.cost_p50_micros <= quote.cost_p90_micros
    assert quote.cost_p90 == credits_text(quote.cost_p90_micros)
    assert quote.escrow_hold_micros == quote.cost_p90_micros and not quote.capped
    assert 0 <= quote.eta_p50_secs <= quote.eta_p90_secs
    assert {tier.tier for tier in quote.tiers} == {"economy", "standard", "priority"}

    before = creator.account().balance_micros
    # A confirmed cost below the hold is refused, and nothing is held.
    below = credits_text(quote.escrow_hold_micros - 1)
    with pytest.raises(pictor.Infeasible) as refused:
        creator.submit(spec, max_cost=below)
    assert refused.value.field == "max_cost"
    assert creator.account().balance_micros == before
    job = creator.submit(spec, idempotency_key="python-test-job-1", max_cost=quote.escrow_hold)
    assert job.frames == "1-2" and job.frames_total == 2 and job.tasks_total == 2
    assert job.escrow_micros == quote.escrow_hold_micros
    assert creator.account().balance_micros == before - job.escrow_micros
    # The same key answers the same job instead of submitting twice.
    assert creator.submit(spec, idempotency_key="python-test-job-1").id == job.id

    events = list(creator.watch(job.id))
    seqs = [event.seq for event in events]
    assert seqs == sorted(set(seqs)), "events arrive once, in order"
    assert events[0].kind == "submitted"
    assert events[-1].kind == "completed" and events[-1].is_final
    assert not any(event.is_final for event in events[:-1])
    accepted = [event for event in events if event.kind == "task_accepted"]
    assert len(accepted) == 2
    assert isinstance(accepted[0].data, dict)
    # Resuming after the first event skips it.
    assert [event.seq for event in creator.watch(job.id, after=seqs[0])] == seqs[1:]

    done = creator.job(job.id)
    assert done.state == "completed" and done.is_final
    assert done.tasks_accepted == 2
    assert 0 < done.spent_micros <= quote.cost_p90_micros
    assert done.spent == credits_text(done.spent_micros)

    frames = creator.frames(job.id)
    assert sorted(frame.frame for frame in frames) == [1, 2]

    out = tmp_path / "frames"
    downloaded = creator.download_frames(job.id, out)
    assert sorted(frame.frame for frame in downloaded) == [1, 2]
    for frame in downloaded:
        path = Path(frame.path)
        assert path.parent == out and path.name == f"frame_{frame.frame:04d}.exr"
        assert path.read_bytes().startswith(EXR_MAGIC)
        assert path.stat().st_size == frame.size and frame.downloaded
    again = creator.download_frames(job.id, out)
    assert not any(frame.downloaded for frame in again), "frames already there are kept"

    # A finished job is not re-rendered: that is a new job.
    with pytest.raises(pictor.Conflict) as raised:
        creator.rerender(job.id, "2")
    assert raised.value.status == 409 and raised.value.code == "conflict"


def test_rerender_pause_and_cancel_a_running_job(
    creator: pictor.Client, scene_folder: Path
) -> None:
    scene = creator.upload_folder(scene_folder, "scene.toml")
    spec = tiny_spec(scene.id, frames="1-200")
    quote_when_online(creator, spec)
    job = creator.submit(spec)
    first_accepted = None
    for event in creator.watch(job.id):
        if event.kind == "task_accepted":
            first_accepted = event
            break
    assert first_accepted is not None
    accepted_data = cast(TaskAcceptedData, first_accepted.data)
    assert accepted_data["frames"] and isinstance(accepted_data["cost"], int)
    paused = creator.pause(job.id)
    assert paused.state == "paused" and paused.paused_reason == "creator"
    frame = accepted_data["frames"][0]
    rerendered = creator.rerender(job.id, str(frame))
    assert rerendered.tasks_total == job.tasks_total + 1
    with pytest.raises(pictor.ValidationError) as invalid:
        creator.rerender(job.id, "999")
    assert invalid.value.field == "frames" and invalid.value.status == 400
    assert creator.resume(job.id).state in ("queued", "running")
    cancelled = creator.cancel(job.id)
    assert cancelled.state == "cancelled" and cancelled.escrow_micros == 0
    kinds = [event.kind for event in creator.watch(job.id)]
    assert "rerender" in kinds and kinds[-1] == "cancelled"
    with pytest.raises(pictor.Conflict) as raised:
        creator.cancel(job.id)
    assert raised.value.status == 409 and raised.value.code == "conflict"


def test_sync_calls_release_the_gil(tmp_path: Path) -> None:
    import socket

    # A socket that accepts connections but never answers: the call blocks until its timeout.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        with pytest.raises(pictor.Timeout):
            pictor.Client(f"http://127.0.0.1:{port}", "pk_x", timeout=1.0, max_retries=0).account()
    finally:
        stop.set()
        counter.join()
        silent.close()
    assert ticks > 10_000, "another Python thread ran while the client waited"
