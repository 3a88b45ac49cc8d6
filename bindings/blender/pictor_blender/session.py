"""The network side of the add-on, free of ``bpy``: a background session that stages, uploads,
quotes or submits, follows the job and downloads its frames, reporting through a queue.

Only the main thread touches ``bpy``: operators read the scene, build a :class:`SessionRequest`,
and apply the :class:`SessionStatus` that :meth:`Session.poll` returns. ``poll`` never waits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import mmap
import queue
import struct
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

# Packs every external resource into the staged copy; run by a separate, headless Blender so the
# user's session and file stay untouched.
PACK_SCRIPT = (
    "import bpy, sys\n"
    "try:\n"
    "    bpy.ops.file.pack_all()\n"
    "except RuntimeError as error:\n"
    "    print('pictor: packing failed:', error, file=sys.stderr)\n"
    "    sys.exit(3)\n"
    "bpy.ops.wm.save_mainfile()\n"
)


@dataclasses.dataclass
class SessionRequest:
    """Everything a session needs, read from ``bpy`` on the main thread beforehand."""

    endpoint: str
    api_key: str = dataclasses.field(repr=False)  # Never shown.
    folder: Path  # The staging folder: the packed copy of the .blend (and nothing of the user's).
    main_file: str
    frames: str
    width: int
    height: int
    samples: int
    tier: str
    output: str
    engine: str | None
    budget_cap: str | None
    out_dir: Path
    blender: str | None  # The Blender binary that packs the copy; None: the copy is used as saved.
    submit: bool  # False: quote only.
    # The active scene and view layer, and what packing would pull in from outside the .blend (one
    # line per external file: path, size, mtime), read on the main thread. Part of the packed-copy
    # cache key.
    resources: str = ""
    # Where packed copies are kept between submits (None: no cache).
    pack_cache: Path | None = None
    # After a completed render, upscale its frames by this factor (1: no upscale) into
    # ``out_dir / f"x{upscale}"``.
    upscale: int = 1


@dataclasses.dataclass
class SessionStatus:
    """What the panel shows; updated by :meth:`Session.poll` from the worker thread's messages."""

    phase: str = "idle"  # staging, uploading, quoting, submitting, rendering, done, failed, cancelled
    message: str = ""
    upload_done: int = 0
    upload_total: int = 0
    bytes_sent: int = -1
    quote_cost: str = ""
    quote_eta_secs: float = 0.0
    job_id: int = 0
    frames_accepted: int = 0
    frames_total: int = 0
    frames_downloaded: int = 0
    cost_so_far: str = ""
    last_error: str = ""
    finished: bool = False


def explain(error: BaseException, endpoint: str = "") -> str:
    """An error in plain words for the panel (never containing the API key)."""
    import pictor

    where = f" at {endpoint}" if endpoint else ""
    if isinstance(error, pictor.AuthError):
        return "The API key was refused — check Preferences › Add-ons › Pictor."
    if isinstance(error, pictor.Timeout):
        return f"The Pictor network{where} did not answer in time — try again later."
    if isinstance(error, pictor.NetworkError):
        return (
            f"Cannot reach the Pictor network{where} — check the network URL in "
            "Preferences › Add-ons › Pictor and your connection."
        )
    if isinstance(error, pictor.InsufficientFunds):
        return (
            "Not enough credits for this render — top up your account, or lower the frames, "
            "samples or budget cap."
        )
    if isinstance(error, pictor.Infeasible):
        return (
            "No worker can take this render right now (or not within the budget cap) — try "
            "again in a moment or raise the budget cap."
        )
    if isinstance(error, pictor.ValidationError):
        field = f" '{error.field}'" if error.field else ""
        return f"Pictor refused the setting{field}: {error}"
    if isinstance(error, pictor.NotFound):
        return "The network no longer knows this job or scene."
    if isinstance(error, pictor.FileError):
        return f"Could not read or write {error.path or 'a file'}: {error}"
    if isinstance(error, pictor.PictorError):
        return f"Pictor error: {error}"
    if isinstance(error, PackError):
        return str(error)
    return f"Unexpected error: {error}"


class PackError(Exception):
    """Packing the staged copy failed."""


def pack_copy(blender: str, blend: Path) -> None:
    """Packs the external resources of the staged copy ``blend`` in a headless Blender."""
    done = subprocess.run(
        [blender, "-b", "--factory-startup", str(blend), "--python-exit-code", "3",
         "--python-expr", PACK_SCRIPT],
        capture_output=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise PackError(
            "Could not pack the scene's textures and caches into the copy: "
            + (lines[-1] if lines else f"Blender exited with {done.returncode}")
        )


# .blend blocks that are not scene content, left out of the scene digest so that a click in the UI
# does not count as a change of the scene: the window manager (where the add-on's own panel
# properties live), screens and workspaces, the thumbnail, the global block (session flags that
# differ inside an operator, and the active scene and view layer, which the cache key carries by
# name instead) and the render summary (derived from the scenes).
NON_SCENE_BLOCK_CODES = frozenset(
    {b"WM\0\0", b"SR\0\0", b"WS\0\0", b"TEST", b"GLOB", b"REND"}
)


def scene_digest(path: Path) -> str | None:
    """The SHA-256 of an uncompressed .blend without its non-scene blocks (each ID block is
    followed by its ``DATA`` blocks, skipped with it). None when the file is not an uncompressed
    .blend this reads (compressed, truncated): the caller then hashes the whole file."""
    if path.stat().st_size < 12:
        return None
    with path.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        header = data[:12]
        if len(header) < 12 or not header.startswith(b"BLENDER"):
            return None
        pointer = {b"-": "Q", b"_": "I"}.get(header[7:8])
        endian = {b"v": "<", b"V": ">"}.get(header[8:9])
        if pointer is None or endian is None:
            return None
        block = struct.Struct(f"{endian}4si{pointer}ii")
        digest = hashlib.sha256(header)
        position, skipping = 12, False
        while position + block.size <= len(data):
            code, length, _address, _sdna, _count = block.unpack_from(data, position)
            end = position + block.size + length
            if length < 0 or end > len(data):
                return None
            if code == b"ENDB":
                digest.update(code)
                return digest.hexdigest()
            if code != b"DATA":
                skipping = code in NON_SCENE_BLOCK_CODES
            if not skipping:
                digest.update(data[position:end])
            position = end
        return None


def copy_fingerprint(request: SessionRequest) -> str:
    """The packed-copy cache key: the digest of every file staged for upload (the unpacked copy —
    its scene, not its user interface — and anything beside it) and of the external resources
    packing would pull in."""
    digest = hashlib.sha256()
    for path in sorted(p for p in request.folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(request.folder).as_posix().encode() + b"\0")
        scene = scene_digest(path) if path.suffix == ".blend" else None
        if scene is not None:
            digest.update(b"scene:" + scene.encode())
        else:
            with path.open("rb") as file:
                for chunk in iter(lambda: file.read(1 << 20), b""):
                    digest.update(chunk)
        digest.update(b"\0")
    digest.update(request.resources.encode())
    return digest.hexdigest()


def pack_or_reuse(request: SessionRequest, blender: str) -> bool:
    """Packs the staged copy, or puts back the packed copy of the last submit when nothing it was
    made from changed (a packing Blender writes different bytes for the same scene, so without
    this an unchanged scene would be uploaded again). ``blender`` packs. Answers True when the
    cache was used."""
    blend = request.folder / request.main_file
    cache = request.pack_cache
    if cache is None:
        pack_copy(blender, blend)
        return False
    key = copy_fingerprint(request)
    cached = cache / f"{key}.blend"
    if cached.is_file():
        shutil.copyfile(cached, blend)
        return True
    pack_copy(blender, blend)
    if cache.exists():
        shutil.rmtree(cache)  # One scene, one cached copy.
    cache.mkdir(parents=True)
    partial = cache / f"{key}.partial"
    shutil.copyfile(blend, partial)
    partial.replace(cached)
    return False


class Session:
    """Stages, uploads, quotes or submits, follows and downloads — on the calling thread
    (:meth:`run`, the blocking door) or on a background thread (:meth:`start`, the modal door).
    Progress arrives through a queue that :meth:`poll` drains without waiting."""

    def __init__(self, request: SessionRequest) -> None:
        self.request = request
        self.status = SessionStatus()
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: Any = None

    # --- the main thread's side -----------------------------------------------------------

    def start(self) -> None:
        """Runs the session on a daemon thread; call :meth:`poll` on a timer."""
        self._thread = threading.Thread(target=self.run_unapplied, name="pictor", daemon=True)
        self._thread.start()

    def run(self) -> SessionStatus:
        """Runs the session on the calling thread until it ends; answers the final status."""
        self.run_unapplied()
        return self.poll()

    def poll(self) -> SessionStatus:
        """Applies every message queued so far, without waiting; answers the status."""
        while True:
            try:
                kind, value = self._queue.get_nowait()
            except queue.Empty:
                return self.status
            self._apply(kind, value)

    def cancel(self) -> None:
        """Asks the session to stop: before submitting nothing is submitted; after, the job is
        cancelled on the network (unused escrow returns) and the session ends."""
        self._cancel.set()
        job_id, client = self.status.job_id, self._client
        if job_id and client is not None:
            # The network call runs off the UI thread; the event stream then ends by itself.
            threading.Thread(target=self._cancel_job, args=(client, job_id), daemon=True).start()

    @property
    def alive(self) -> bool:
        """True while the background thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _apply(self, kind: str, value: Any) -> None:
        status = self.status
        if kind == "phase":
            status.phase, status.message = value
        elif kind == "upload":
            status.upload_done, status.upload_total = value
        elif kind == "uploaded":
            status.bytes_sent = value
        elif kind == "quote":
            status.quote_cost, status.quote_eta_secs = value
        elif kind == "job":
            status.job_id, status.frames_total = value
        elif kind == "progress":
            status.frames_accepted, status.cost_so_far = value
        elif kind == "downloaded":
            status.frames_downloaded = value
        elif kind == "error":
            status.last_error = value
            status.phase = "failed"
            status.finished = True
        elif kind == "end":
            status.phase, status.message = value
            status.finished = True

    # --- the worker's side: no bpy below ----------------------------------------------------

    def _put(self, kind: str, value: Any) -> None:
        self._queue.put((kind, value))

    def _cancel_job(self, client: Any, job_id: int) -> None:
        try:
            client.cancel(job_id)
        except Exception as error:  # Shown in the panel; the stream keeps going.
            self._put("error", explain(error, self.request.endpoint))

    def run_unapplied(self) -> None:
        """The session's work; every outcome ends as an ``error`` or ``end`` message."""
        request = self.request
        try:
            import pictor

            client = pictor.Client(request.endpoint, request.api_key)
            self._client = client
            if request.blender:
                self._put("phase", ("staging", "Packing a copy of the scene…"))
                if pack_or_reuse(request, request.blender):
                    self._put(
                        "phase",
                        ("staging", "The scene is unchanged: reusing its packed copy…"),
                    )
            if self._cancel.is_set():
                self._put("end", ("cancelled", "Cancelled before upload."))
                return
            self._put("phase", ("uploading", "Uploading the scene…"))
            asset = client.upload_folder(
                request.folder,
                request.main_file,
                progress=lambda p: self._put("upload", (p.bytes_done, p.bytes_total)),
            )
            self._put("uploaded", asset.bytes_sent)
            spec = pictor.JobSpec(
                asset.id,
                request.frames,
                renderer="blender",
                engine=request.engine,
                width=request.width,
                height=request.height,
                samples=request.samples,
                tier=request.tier,
                output=request.output,
                budget_cap=request.budget_cap,
            )
            if self._cancel.is_set():
                self._put("end", ("cancelled", "Cancelled before submitting."))
                return
            if not request.submit:
                self._put("phase", ("quoting", "Asking for a quote…"))
                quote = client.quote(spec)
                self._put("quote", (quote.cost_p90, quote.eta_p90_secs))
                self._put(
                    "end",
                    ("done", f"Up to {quote.cost_p90} credits, about {quote.eta_p90_secs:.0f} s."),
                )
                return
            self._put("phase", ("submitting", "Submitting…"))
            job = client.submit(spec)
            self._put("job", (job.id, job.frames_total))
            self._put("progress", (0, job.spent))
            self._put("phase", ("rendering", f"Job {job.id} is rendering…"))
            self._follow(client, job.id)
        except Exception as error:
            self._put("error", explain(error, request.endpoint))

    def _follow(self, client: Any, job_id: int) -> None:
        """Follows the job's events, downloading accepted frames as they arrive."""
        out_dir = self.request.out_dir
        downloaded = 0
        final = "completed"
        for event in client.watch(job_id):
            if event.kind == "task_rejected":
                self._put(
                    "phase", ("rendering", "A checker rejected a frame: it is rendered again.")
                )
            if event.kind == "task_accepted":
                frames = client.download_frames(job_id, out_dir)
                downloaded = len(frames)
                self._put("downloaded", downloaded)
                job = client.job(job_id)
                self._put("progress", (job.tasks_accepted, job.spent))
            if event.is_final:
                final = event.kind
        job = client.job(job_id)
        self._put("progress", (job.tasks_accepted, job.spent))
        if final == "completed":
            downloaded = len(client.download_frames(job_id, out_dir))
            self._put("downloaded", downloaded)
            if self.request.upscale > 1:
                self._upscale(client, job_id)
                return
            self._put("end", ("done", f"Done: {downloaded} frames in {out_dir}."))
        elif final == "cancelled":
            self._put("end", ("cancelled", f"Job {job_id} was cancelled; unused credits returned."))
        else:
            self._put("error", f"The network gave up on job {job_id} (a frame failed for good).")


    def _upscale(self, client: Any, render_job: int) -> None:
        """Upscales the completed render's frames on the network into ``out_dir/x<factor>``: the
        frames named by number as an upscale's inputs, uploaded (their blobs are already on the
        network: nothing is sent twice), an upscale job submitted, followed and downloaded."""
        import pictor

        request = self.request
        factor = request.upscale
        self._put("phase", ("upscaling", f"Upscaling the frames ×{factor}…"))
        staging = Path(tempfile.mkdtemp(prefix="pictor-upscale-"))
        try:
            frames = client.download_frames(render_job, staging / "render")
            inputs = staging / "inputs"
            inputs.mkdir()
            first = ""
            for frame in sorted(frames, key=lambda f: f.frame):
                suffix = Path(frame.path).suffix.lower()
                if suffix not in (".png", ".jpg", ".jpeg", ".exr"):
                    self._put(
                        "error",
                        f"Frame {frame.frame} is {suffix or 'not an image'}: upscaling reads PNG, "
                        "JPEG or EXR frames — change the output format.",
                    )
                    return
                name = f"{frame.frame:06d}{suffix}"
                first = first or name
                shutil.copyfile(frame.path, inputs / name)
            asset = client.upload_folder(inputs, first)
            spec = pictor.JobSpec.upscale(
                asset.id,
                request.frames,
                factor=factor,
                input_width=request.width,
                input_height=request.height,
                tier=request.tier,
            )
            job = client.submit(spec)
            self._put("phase", ("upscaling", f"Job {job.id} upscales the frames ×{factor}…"))
            final = "completed"
            for event in client.watch(job.id):
                if event.is_final:
                    final = event.kind
            if final != "completed":
                self._put("error", f"The upscale job {job.id} ended {final}.")
                return
            out = request.out_dir / f"x{factor}"
            upscaled = len(client.download_frames(job.id, out))
            self._put(
                "end",
                ("done", f"Done: frames in {request.out_dir}, {upscaled} upscaled ×{factor} in {out}."),
            )
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def stage_folder(root: Path, key: str) -> Path:
    """A fresh staging folder for the copy of one .blend: the same path for the same file (its
    packed copies are cached beside it, see :func:`pack_or_reuse`)."""
    folder = root / key
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def time_ticks(tick: Callable[[], object], until: Callable[[], bool], every: float = 0.02) -> list[float]:
    """Calls ``tick`` every ``every`` seconds until ``until()``; answers each call's seconds (for
    the add-on test of the modal path)."""
    durations = []
    while not until():
        started = time.perf_counter()
        tick()
        durations.append(time.perf_counter() - started)
        time.sleep(every)
    return durations
