"""Each exception class, raised by a real network (or a real socket) for a real cause."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import pictor
from conftest import quote_when_online, tiny_spec
from pictor_network import Network


def test_the_exceptions_form_one_tree() -> None:
    for name in pictor.__all__:
        value = getattr(pictor, name)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, pictor.PictorError), name
            assert value.__module__ == "pictor"
    assert issubclass(pictor.Timeout, pictor.NetworkError)
    assert pictor.PictorError.status is None and pictor.PictorError.field is None


def test_a_wrong_api_key_raises_auth_error(network: Network) -> None:
    client = pictor.Client(network.url, "pk_not_a_real_key")
    with pytest.raises(pictor.AuthError) as raised:
        client.account()
    error = raised.value
    assert error.status == 401 and error.code == "unauthorized"
    assert error.request_id, "the network's request id is carried"
    assert "pk_not_a_real_key" not in str(error), "the key is never echoed"


def test_an_unknown_job_raises_not_found(creator: pictor.Client) -> None:
    with pytest.raises(pictor.NotFound) as raised:
        creator.job(987_654)
    assert raised.value.status == 404 and raised.value.code == "not_found"


def test_a_poor_account_raises_insufficient_funds(
    network: Network, creator: pictor.Client, scene_folder: Path
) -> None:
    _, key = network.account("creator", "poor", credits="0.000001")
    poor = pictor.Client(network.url, key)
    scene = poor.upload_folder(scene_folder, "scene.toml")
    spec = tiny_spec(scene.id)
    quote_when_online(poor, spec)
    with pytest.raises(pictor.InsufficientFunds) as raised:
        poor.submit(spec)
    assert raised.value.status == 402 and raised.value.code == "insufficient_funds"
    assert poor.account().balance_micros == 1, "nothing was taken"


def test_local_validation_names_the_field() -> None:
    scene = "ab" * 32
    cases = {
        "samples": {"samples": 0},
        "resolution.width": {"width": 0},
        "budget_cap": {"budget_cap": "lots"},
        "tier": {"tier": "gold"},
        "renderer.engine": {"renderer": "builtin", "engine": "cycles"},
    }
    for field, arguments in cases.items():
        with pytest.raises(pictor.ValidationError) as raised:
            pictor.JobSpec(scene, "1-2", **arguments)  # type: ignore[arg-type]
        assert raised.value.field == field, raised.value
        assert raised.value.status is None
    with pytest.raises(pictor.ValidationError):
        pictor.JobSpec("not-a-hash", "1")
    with pytest.raises(pictor.ValidationError):
        pictor.JobSpec(scene, "5-1")
    with pytest.raises(pictor.ValidationError) as raised:
        pictor.Client("ftp://example.org")
    assert raised.value.field == "endpoint"
    with pytest.raises(pictor.ValidationError) as raised:
        pictor.Client("http://127.0.0.1:1", timeout=-1)
    assert raised.value.field == "timeout"


def test_the_network_refuses_an_unknown_scene(creator: pictor.Client) -> None:
    with pytest.raises((pictor.ValidationError, pictor.NotFound)) as raised:
        creator.quote(tiny_spec("cd" * 32))
    assert raised.value.status in (400, 404)


def test_an_unreachable_network_raises_network_error() -> None:
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()  # Nothing listens there now.
    client = pictor.Client(f"http://127.0.0.1:{port}", "pk_x", max_retries=0)
    with pytest.raises(pictor.NetworkError) as raised:
        client.account()
    assert not isinstance(raised.value, pictor.Timeout)
    assert raised.value.status is None


def test_a_silent_network_raises_timeout() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        client = pictor.Client(
            f"http://127.0.0.1:{silent.getsockname()[1]}", "pk_x", timeout=0.3, max_retries=0
        )
        with pytest.raises(pictor.Timeout):
            client.account()
    finally:
        silent.close()


def test_a_missing_folder_raises_file_error(creator: pictor.Client, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(pictor.FileError) as raised:
        creator.upload_folder(missing, "scene.blend")
    assert raised.value.path is not None and "nowhere" in raised.value.path


def test_a_renderer_no_worker_offers_is_infeasible(
    creator: pictor.Client, scene_folder: Path, tmp_path: Path
) -> None:
    scene = creator.upload_folder(scene_folder, "scene.toml")
    quote_when_online(creator, tiny_spec(scene.id))  # A worker is online...
    shot = tmp_path / "shot"
    shot.mkdir()
    (shot / "shot.blend").write_bytes(b"BLENDER-v304 (the scene's bytes do not matter here)")
    blend = creator.upload_folder(shot, "shot.blend")
    blender = pictor.JobSpec(blend.id, "1", renderer="blender", width=192, height=108, samples=16)
    with pytest.raises(pictor.Infeasible) as raised:  # ...but none has Blender.
        creator.quote(blender)
    assert raised.value.status == 422


def test_a_renderer_that_cannot_read_the_scene_is_refused_before_any_worker(
    creator: pictor.Client, scene_folder: Path
) -> None:
    scene = creator.upload_folder(scene_folder, "scene.toml")
    blender = pictor.JobSpec(scene.id, "1", renderer="blender", width=192, height=108, samples=16)
    with pytest.raises(pictor.ValidationError) as raised:  # Blender cannot read a .toml scene.
        creator.quote(blender)
    assert raised.value.status == 400
    assert raised.value.field == "renderer"
