"""Type stubs of the native module ``pictor._pictor`` (checked against it by mypy's stubtest)."""

from collections.abc import Awaitable, Callable
from os import PathLike
from typing import final

from .events import JobEventData, JobEventKind

__version__: str
__all__ = [
    "Account",
    "AsyncClient",
    "AsyncEventIterator",
    "AuthError",
    "Client",
    "Conflict",
    "DownloadedFrame",
    "EventIterator",
    "FileError",
    "Frame",
    "Infeasible",
    "InsufficientFunds",
    "IntegrityError",
    "Job",
    "JobEvent",
    "JobSpec",
    "NetworkError",
    "NotFound",
    "PayloadTooLarge",
    "PictorError",
    "ProtocolError",
    "Quote",
    "RateLimited",
    "ServerError",
    "TierQuote",
    "Timeout",
    "UploadProgress",
    "UploadedAsset",
    "UploadedBlob",
    "ValidationError",
    "__version__",
]

class PictorError(Exception):
    """Every error of the pictor package."""

    status: int | None
    """The HTTP status of the network's answer, if there was one."""
    code: str | None
    """The network's machine-readable code (``insufficient_funds``), if any."""
    request_id: str | None
    """The network's request id, for support."""
    field: str | None
    """The offending input, for validation errors."""
    path: str | None
    """The local file, for file errors."""

class AuthError(PictorError):
    """The API key was refused (401) or may not touch this resource (403)."""

class NotFound(PictorError):
    """No such job, asset or account, or not visible to this key (404)."""

class InsufficientFunds(PictorError):
    """The account's balance does not cover the job's escrow (402)."""

class ValidationError(PictorError):
    """An argument or a field of the job was refused; ``field`` names it."""

class Infeasible(PictorError):
    """No plan meets the deadline or budget, or no worker can render it now (422)."""

class Conflict(PictorError):
    """The request conflicts with the current state (409)."""

class RateLimited(PictorError):
    """Too many requests (429)."""

class PayloadTooLarge(PictorError):
    """A body or upload is too large for the network (413)."""

class ServerError(PictorError):
    """A fault on the network's side (5xx)."""

class NetworkError(PictorError):
    """The network is unreachable, refused the connection or broke it."""

class Timeout(NetworkError):
    """The network did not answer in time."""

class IntegrityError(PictorError):
    """Downloaded bytes did not hash to what the network promised."""

class ProtocolError(PictorError):
    """An answer of the network could not be decoded."""

class FileError(PictorError):
    """Reading or writing a local file failed; ``path`` names it."""

@final
class Account:
    """The caller's account and its balance."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def balance_micros(self) -> int: ...
    @property
    def balance(self) -> str: ...

@final
class UploadProgress:
    """Progress of a folder upload, passed to the ``progress`` callback."""

    @property
    def bytes_done(self) -> int: ...
    @property
    def bytes_total(self) -> int: ...
    @property
    def files_done(self) -> int: ...
    @property
    def files_total(self) -> int: ...

@final
class UploadedAsset:
    """A committed scene folder."""

    @property
    def id(self) -> str: ...
    @property
    def total_size(self) -> int: ...
    @property
    def files(self) -> int: ...
    @property
    def bytes_sent(self) -> int: ...
    @property
    def blobs_uploaded(self) -> int: ...
    @property
    def blobs_skipped(self) -> int: ...

@final
class UploadedBlob:
    """One uploaded file."""

    @property
    def hash(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def bytes_sent(self) -> int: ...

@final
class TierQuote:
    """The cost of the same plan in one tier."""

    @property
    def tier(self) -> str: ...
    @property
    def cost_p50_micros(self) -> int: ...
    @property
    def cost_p50(self) -> str: ...
    @property
    def cost_p90_micros(self) -> int: ...
    @property
    def cost_p90(self) -> str: ...

@final
class Quote:
    """A price and time estimate."""

    @property
    def strategy(self) -> str: ...
    @property
    def cost_p50_micros(self) -> int: ...
    @property
    def cost_p50(self) -> str: ...
    @property
    def cost_p90_micros(self) -> int: ...
    @property
    def cost_p90(self) -> str: ...
    @property
    def eta_p50_secs(self) -> float: ...
    @property
    def eta_p90_secs(self) -> float: ...
    @property
    def escrow_hold_micros(self) -> int: ...
    @property
    def escrow_hold(self) -> str: ...
    @property
    def capped(self) -> bool: ...
    @property
    def deadline_at_risk(self) -> bool: ...
    @property
    def tiers(self) -> list[TierQuote]: ...

@final
class Job:
    """A render job and its progress."""

    @property
    def id(self) -> int: ...
    @property
    def state(self) -> str: ...
    @property
    def scene(self) -> str: ...
    @property
    def frames(self) -> str: ...
    @property
    def frames_total(self) -> int: ...
    @property
    def tasks_total(self) -> int: ...
    @property
    def tasks_accepted(self) -> int: ...
    @property
    def escrow_micros(self) -> int: ...
    @property
    def escrow(self) -> str: ...
    @property
    def spent_micros(self) -> int: ...
    @property
    def spent(self) -> str: ...
    @property
    def paused_reason(self) -> str | None: ...
    @property
    def quote(self) -> Quote: ...
    @property
    def created_at_ms(self) -> int: ...
    @property
    def is_final(self) -> bool: ...

@final
class Frame:
    """An accepted frame the network holds."""

    @property
    def task(self) -> int: ...
    @property
    def frame(self) -> int: ...
    @property
    def hash(self) -> str: ...
    @property
    def size(self) -> int: ...

@final
class DownloadedFrame:
    """A frame written to disk by ``download_frames``."""

    @property
    def frame(self) -> int: ...
    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def downloaded(self) -> bool: ...

@final
class JobEvent:
    """One event of a job: ``kind`` says what happened, ``data`` (a ``dict``) the details, typed
    per kind in :mod:`pictor.events` (check ``kind``, then ``cast`` ``data`` to that kind's
    ``TypedDict``)."""

    @property
    def seq(self) -> int: ...
    @property
    def kind(self) -> JobEventKind: ...
    @property
    def at_ms(self) -> int: ...
    @property
    def data_json(self) -> str: ...
    @property
    def frame(self) -> int | None: ...
    @property
    def data(self) -> JobEventData: ...
    @property
    def is_final(self) -> bool: ...

@final
class JobSpec:
    """What to render; every field is checked when it is built."""

    def __new__(
        cls,
        scene: str,
        frames: str,
        *,
        renderer: str = "blender",
        engine: str | None = None,
        width: int = 640,
        height: int = 360,
        samples: int = 64,
        tier: str = "standard",
        output: str | None = None,
        budget_cap: str | None = None,
        deadline_secs: int | None = None,
        tags: list[str] = ...,
    ) -> JobSpec: ...
    @staticmethod
    def upscale(
        scene: str,
        frames: str,
        *,
        factor: int,
        input_width: int,
        input_height: int,
        tile: int = 128,
        context: int = 24,
        output: str = "png",
        tier: str = "standard",
        budget_cap: str | None = None,
        task_tile: int | None = None,
    ) -> JobSpec:
        """An upscale of the asset's images (``000001.png``, … one per frame) by ``factor`` (2, 4,
        8 or 16) with the catalog's SPAN models."""
    @property
    def upscale_factor(self) -> int | None: ...
    @property
    def scene(self) -> str: ...
    @property
    def frames(self) -> str: ...
    @property
    def renderer(self) -> str: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def samples(self) -> int: ...
    @property
    def tier(self) -> str: ...
    @property
    def budget_cap(self) -> str | None: ...
    def to_json(self) -> str:
        """The spec as the network's JSON."""

@final
class EventIterator:
    """A job's events, oldest first, ending after the final one."""

    def __iter__(self) -> EventIterator: ...
    def __next__(self) -> JobEvent: ...

@final
class AsyncEventIterator:
    """A job's events for ``async for``, oldest first, ending after the final one."""

    def __aiter__(self) -> AsyncEventIterator: ...
    def __anext__(self) -> Awaitable[JobEvent]: ...

_Path = str | PathLike[str]

@final
class Client:
    """A blocking client of one Pictor network; waits with the GIL released."""

    def __new__(
        cls,
        endpoint: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        max_retries: int = 3,
    ) -> Client: ...
    @property
    def endpoint(self) -> str: ...
    def account(self) -> Account:
        """The caller's own account, with its balance."""
    def upload_folder(
        self,
        folder: _Path,
        main_file: str,
        progress: Callable[[UploadProgress], object] | None = None,
    ) -> UploadedAsset:
        """Uploads a scene folder (only files the network lacks) and commits it."""
    def upload_file(self, path: _Path) -> UploadedBlob:
        """Uploads one file as a blob."""
    def quote(self, spec: JobSpec) -> Quote:
        """Prices a job; nothing is held."""
    def submit(
        self, spec: JobSpec, idempotency_key: str | None = None, max_cost: str | None = None
    ) -> Job:
        """Submits a job; its P90 cost (or the budget cap) moves into escrow, never more than
        `max_cost` (decimal credits: the quote's `escrow_hold` the creator confirmed)."""
    def job(self, job_id: int) -> Job:
        """One job, with its state and progress."""
    def cancel(self, job_id: int) -> Job:
        """Cancels a job."""
    def pause(self, job_id: int) -> Job:
        """Pauses a job."""
    def resume(self, job_id: int) -> Job:
        """Resumes a paused job."""
    def rerender(self, job_id: int, frames: str) -> Job:
        """Renders these frames of a job again."""
    def watch(self, job_id: int, after: int | None = None) -> EventIterator:
        """The job's events as an iterator."""
    def frames(self, job_id: int) -> list[Frame]:
        """The job's accepted frames."""
    def download_frames(self, job_id: int, directory: _Path) -> list[DownloadedFrame]:
        """Downloads every accepted frame into ``directory``."""

@final
class AsyncClient:
    """The asyncio client of one Pictor network."""

    def __new__(
        cls,
        endpoint: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        connect_timeout: float = 5.0,
        max_retries: int = 3,
    ) -> AsyncClient: ...
    @property
    def endpoint(self) -> str: ...
    def account(self) -> Awaitable[Account]:
        """The caller's own account, with its balance."""
    def upload_folder(
        self,
        folder: _Path,
        main_file: str,
        progress: Callable[[UploadProgress], object] | None = None,
    ) -> Awaitable[UploadedAsset]:
        """Uploads a scene folder and commits it."""
    def upload_file(self, path: _Path) -> Awaitable[UploadedBlob]:
        """Uploads one file as a blob."""
    def quote(self, spec: JobSpec) -> Awaitable[Quote]:
        """Prices a job."""
    def submit(
        self, spec: JobSpec, idempotency_key: str | None = None, max_cost: str | None = None
    ) -> Awaitable[Job]:
        """Submits a job (see `Client.submit`)."""
    def job(self, job_id: int) -> Awaitable[Job]:
        """One job."""
    def cancel(self, job_id: int) -> Awaitable[Job]:
        """Cancels a job."""
    def pause(self, job_id: int) -> Awaitable[Job]:
        """Pauses a job."""
    def resume(self, job_id: int) -> Awaitable[Job]:
        """Resumes a paused job."""
    def rerender(self, job_id: int, frames: str) -> Awaitable[Job]:
        """Renders these frames of a job again."""
    def watch(self, job_id: int, after: int | None = None) -> AsyncEventIterator:
        """The job's events as an async iterator."""
    def frames(self, job_id: int) -> Awaitable[list[Frame]]:
        """The job's accepted frames."""
    def download_frames(self, job_id: int, directory: _Path) -> Awaitable[list[DownloadedFrame]]:
        """Downloads every accepted frame into ``directory``."""
