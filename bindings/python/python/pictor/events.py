"""The job events' vocabulary, typed: ``JobEvent.kind`` is a :data:`JobEventKind` and
``JobEvent.data`` the :data:`JobEventData` of that kind (a ``dict`` as the network sent it).

Check the kind, then narrow the data to that kind's ``TypedDict``::

    from typing import cast
    from pictor.events import TaskAcceptedData

    for event in client.watch(job.id):
        if event.kind == "task_accepted":
            data = cast(TaskAcceptedData, event.data)
            print(data["frames"], data["cost"])  # cost: int micro-credits

Ids, counts and times are ``int``; amounts of money inside ``data`` are ``int`` micro-credits
(1 credit = 1 000 000). The block below is generated from ``pictor_core::api::JobEvent`` by the
test ``pictor-network/tests/wire_typings.rs``, which fails when it drifts and rewrites it when run
with ``PICTOR_UPDATE_TYPINGS=1``.
"""

# The generated TypedDicts may name one another before it is defined (``TaskOutputData`` holds an
# ``EvidenceFileData``): annotations are resolved lazily.
from __future__ import annotations

from typing import Literal, TypeAlias, TypedDict

# BEGIN GENERATED JobEvent (cargo test -p pictor-network --test wire_typings)
JobEventKind: TypeAlias = Literal[
    "submitted",
    "started",
    "task_leased",
    "task_progress",
    "task_uploaded",
    "task_accepted",
    "task_rejected",
    "task_escalated",
    "task_failed",
    "task_expired",
    "paused",
    "resumed",
    "rerender",
    "completed",
    "failed",
    "cancelled",
]
"""What a job event can say (``pictor_core::api::JobEvent::KINDS``): ``JobEvent.kind``."""


class _TaskOutputDataRequired(TypedDict):
    """The fields of ``TaskOutputData`` always sent."""
    frame: int
    """The frame this file renders; for a tile task, the still's frame number."""
    hash: str
    """BLAKE3 hex of the uploaded image file (uploaded first as a blob)."""
    size: int
    """Size in bytes."""


class TaskOutputData(_TaskOutputDataRequired, total=False):
    """One output file of a task: a frame (or the task's tile of a still)."""
    evidence: EvidenceFileData
    """What the checker verifies this frame with, when Blender finished it with the scene's
    settings: the render before denoising, compositing and the view transform (see
    docs/VERIFICATION.md, "Faithful frames")."""
    name: str
    """The file's name as the scene's output settings name it (`shot_0001.png`) when Blender
    wrote it with the scene's settings (`output: scene`); absent for frames Pictor encodes,
    which download as `frame_NNNN.<ext>`. A plain file name: see `valid_output_name`."""
    renderer_version: str
    """The renderer version that finished the frame (`4.2.0`), for a frame Blender finished with
    the scene's settings: the checker refinishes with the same version, or escalates."""


class EvidenceFileData(TypedDict):
    """A render's evidence file, uploaded as a blob beside its frame."""
    hash: str
    """BLAKE3 hex of the evidence (a multilayer OpenEXR)."""
    size: int
    """Size in bytes."""


class SubmittedData(TypedDict):
    """The ``data`` of a ``submitted`` event. The job was accepted: its escrow is held and its tasks queued."""
    tasks: int
    """Tasks the job was split into."""
    escrow_hold: int
    """Money moved from the creator's balance into the job's escrow. In micro-credits."""
    strategy: str
    """The scheduling strategy that priced it."""


class StartedData(TypedDict):
    """The ``data`` of a ``started`` event. A worker leased the job's first task."""


class TaskLeasedData(TypedDict):
    """The ``data`` of a ``task_leased`` event. A worker leased a pending task (its first lease or a retry); the worker must now heartbeat
    to keep the lease."""
    task: int
    """The task leased: the id the worker's heartbeats, result and failure report name."""
    worker: int
    """The worker that holds the lease."""
    attempt: int
    """The lease's attempt (fencing token)."""
    frames: list[int]
    """The frames the task renders."""


class TaskProgressData(TypedDict):
    """The ``data`` of a ``task_progress`` event. A worker reported progress on a task (with each heartbeat)."""
    task: int
    """The task the heartbeat was for; its lease now lapses `lease_ttl_ms` after `at_ms`."""
    worker: int
    """The worker holding the task's lease, which sent the heartbeat."""
    progress_permille: int
    """Progress, per mille (0..=1000)."""


class TaskUploadedData(TypedDict):
    """The ``data`` of a ``task_uploaded`` event. A worker delivered a task's signed result; it waits for a checker."""
    task: int
    """The task whose result arrived; it is now `verifying` and a check for it is queued."""
    worker: int
    """The worker that rendered it."""
    render_ms: int
    """The worker's wall-clock render time, ms (as reported, not trusted)."""
    outputs: list[TaskOutputData]
    """The outputs, one per frame (or the task's tile)."""


class TaskAcceptedData(TypedDict):
    """The ``data`` of a ``task_accepted`` event. A checker accepted a task's result: its frames are delivered and its hold paid out."""
    task: int
    """The task accepted; `GET /v1/jobs/{id}/frames` lists its outputs under this id."""
    worker: int
    """The worker that rendered the result; its earnings get the worker's share of `cost`."""
    checker: int
    """The checker whose accept verdict settled the task; it earns the checker's fee."""
    cost: int
    """What the task cost the creator. In micro-credits."""
    frames: list[int]
    """The frames now downloadable."""


class TaskRejectedData(TypedDict):
    """The ``data`` of a ``task_rejected`` event. A checker rejected a task's result (or could not decide): the task is rendered again."""
    task: int
    """The task rejected: queued again with its next attempt, or failed if out of attempts."""
    worker: int
    """The worker whose result was rejected."""
    checker: int
    """The checker whose verdict (a reject, or an escalation past the cap) ended the check."""
    reason: str
    """The checker's reasons, as JSON text."""
    worker_blocked: bool
    """Whether the worker is now barred from the job."""
    inconclusive: bool
    """True when escalations ran out without a decision: not counted against the worker."""


class TaskEscalatedData(TypedDict):
    """The ``data`` of a ``task_escalated`` event. A checker asked for a second check with more evidence."""
    task: int
    """The task whose result is checked again; it stays `verifying` until a later verdict."""
    escalation: int
    """How many times the result has been escalated."""


class TaskFailedData(TypedDict):
    """The ``data`` of a ``task_failed`` event. A worker reported it could not render a task; the task is queued again (or fails)."""
    task: int
    """The task given up on: queued again with its next attempt, or failed if out of attempts."""
    worker: int
    """The worker that held the lease; the failure counts against it in this job."""
    message: str
    """The worker's reason."""


class TaskExpiredData(TypedDict):
    """The ``data`` of a ``task_expired`` event. A task's lease lapsed without a result; the task is queued again (or fails)."""
    task: int
    """The task whose lease lapsed; a late heartbeat or result of that lease is refused."""
    worker: int | None
    """The worker that held the lease."""


class _PausedDataRequired(TypedDict):
    """The fields of ``PausedData`` always sent."""
    reason: Literal["creator", "funds"]
    """Who or what paused it."""


class PausedData(_PausedDataRequired, total=False):
    """The ``data`` of a ``paused`` event. The job stopped taking new leases."""
    short: int
    """For a pause for funds: how much more the creator must deposit. In micro-credits."""


class ResumedData(TypedDict):
    """The ``data`` of a ``resumed`` event. The job takes leases again."""
    reason: Literal["creator", "funds"]
    """What it was paused for."""


class RerenderData(TypedDict):
    """The ``data`` of a ``rerender`` event. The creator asked for frames again; their accepted outputs were withdrawn."""
    frames: list[int]
    """Every frame of the accepted tasks that held the requested frames (a whole chunk or still
    is redone), ascending, without duplicates."""


class CompletedData(TypedDict):
    """The ``data`` of a ``completed`` event. Every task was accepted. Final."""
    frames: int
    """Frames (or tiles) delivered."""


class FailedData(TypedDict):
    """The ``data`` of a ``failed`` event. A task ran out of attempts, so the job failed; its open holds returned. Final."""
    task: int
    """The task that ran out of attempts (its last `task_failed`, `task_expired` or
    `task_rejected` event came just before this one)."""
    attempts: int
    """Attempts it had."""
    reason: str
    """The last failure's reason."""


class CancelledData(TypedDict):
    """The ``data`` of a ``cancelled`` event. The creator cancelled the job; its open holds returned. Final."""


JobEventData: TypeAlias = (
    SubmittedData
    | StartedData
    | TaskLeasedData
    | TaskProgressData
    | TaskUploadedData
    | TaskAcceptedData
    | TaskRejectedData
    | TaskEscalatedData
    | TaskFailedData
    | TaskExpiredData
    | PausedData
    | ResumedData
    | RerenderData
    | CompletedData
    | FailedData
    | CancelledData
)
"""The ``data`` of any job event (``JobEvent.data``): check ``JobEvent.kind``, then narrow
with ``typing.cast`` to that kind's class, e.g. ``cast(TaskAcceptedData, event.data)``."""
# END GENERATED JobEvent
