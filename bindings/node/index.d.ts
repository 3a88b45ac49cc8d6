// Hand-written types of @pictor/sdk's JS surface (index.cjs / index.mjs). The native layer's own
// declarations are generated into native.d.ts; test/types.ts checks that the two agree.

/** An exact amount of money: never a float. */
export interface Money {
  /** Micro-credits (1 credit = 1,000,000) as a decimal string; `BigInt(money.micros)` for arithmetic. */
  micros: string
  /** Credits with six decimals, e.g. `"12.500000"`. */
  formatted: string
}

export interface ClientOptions {
  /** The network's base URL, e.g. `http://127.0.0.1:7878`. */
  endpoint: string
  /** The API key (`pk_…`), sent as a bearer token; never logged. */
  apiKey?: string
  /** Total time limit of one ordinary request, ms (default 60 000). Transfers and streams have none. */
  timeoutMs?: number
  /** Connection timeout, ms (default 5 000). */
  connectTimeoutMs?: number
  /** Retries of idempotent requests after a connection error or 429/502/503/504 (default 3). */
  maxRetries?: number
}

/** `scene`: Blender writes the frames with the scene's own settings (the default for Blender jobs); the others: a linear render Pictor encodes (`png` is the built-in renderer's default). */
export type OutputFormat = 'scene' | 'png' | 'png8' | 'png16' | 'exr'
export type Tier = 'economy' | 'standard' | 'priority'
export type JobState = 'quoted' | 'queued' | 'running' | 'paused' | 'completed' | 'failed' | 'cancelled'
export type Role = 'admin' | 'creator' | 'worker' | 'checker' | 'farm'

/** What to render. Omitted fields take the defaults: built-in renderer, 640×360, 64 samples, PNG. */
export interface JobSpecInput {
  /** The scene's asset id, from `uploadFolder`. */
  scene: string
  /** Frames: `"1-24"`, `"1,5,9-12"`. */
  frames: string
  /** Width in pixels (give it with `height`). */
  width?: number
  /** Height in pixels (give it with `width`). */
  height?: number
  /** Samples per pixel. */
  samples?: number
  output?: OutputFormat
  tier?: Tier
  /** Frames per task (default 1). */
  framesPerTask?: number
  /** A fixed Monte Carlo seed for every frame (default 0). */
  seed?: number
  /** The most to pay, in credits, as an exact decimal string (`"25"`, `"2.5"`). */
  budgetCap?: string
  /** Seconds after submission by which the job should finish. */
  deadlineSecs?: number
  /** Free-form labels (`[A-Za-z0-9_.:-]`). */
  tags?: string[]
  /**
   * Makes the job an upscale of the asset's images (`000001.png`, … one per frame) with the
   * catalog's SPAN models; give no `width`, `height` or `samples` then.
   */
  upscale?: UpscaleInput
}

/** An upscale job's settings. */
export interface UpscaleInput {
  /** 2, 4, 8 (×4 then ×2) or 16 (×4 then ×4). */
  factor: number
  inputWidth: number
  inputHeight: number
  /** Tile side of each pass, in input pixels (default 128). */
  tile?: number
  /** Context around each tile, in input pixels (default 24). */
  context?: number
  /** Cut a single image's output into tasks of this many pixels a side. */
  taskTile?: number
}

/** The spec a job was submitted with. */
export interface JobSpecView {
  scene: string
  frames: string
  width: number
  height: number
  samples: number
  output: 'png8' | 'png16' | 'exr'
  tier: Tier
  renderer: 'builtin' | 'blender' | 'upscale'
  /** An upscale job's factor. */
  upscaleFactor?: number
  budgetCap?: Money
  deadlineSecs?: number
  tags: string[]
}

export interface TierQuote {
  tier: Tier
  costP50: Money
  costP90: Money
}

export interface Quote {
  /** The scheduling strategy that planned it. */
  strategy: string
  costP50: Money
  costP90: Money
  etaP50Secs: number
  etaP90Secs: number
  /** What moves into escrow on submit: the P90 cost, or the budget cap when lower. */
  escrowHold: Money
  capped: boolean
  deadlineAtRisk: boolean
  feeSplitP90: { worker: Money; checker: Money; network: Money }
  tiers: TierQuote[]
}

export interface Job {
  id: number
  state: JobState
  spec: JobSpecView
  tasksTotal: number
  tasksAccepted: number
  /** Money still held in escrow. */
  escrow: Money
  /** Money paid out so far. */
  spent: Money
  pausedReason?: 'creator' | 'funds'
  quote: Quote
  createdAtMs: number
}

// The job events: generated from pictor_core::api::JobEvent (its JSON Schema) by the test below,
// which fails when this block drifts and rewrites it with PICTOR_UPDATE_TYPINGS=1.
// BEGIN GENERATED JobEvent (cargo test -p pictor-network --test wire_typings)
/** What a job event can say: `pictor_core::api::JobEvent::KINDS`. */
export type JobEventKind =
  | 'submitted'
  | 'started'
  | 'task_leased'
  | 'task_progress'
  | 'task_uploaded'
  | 'task_accepted'
  | 'task_rejected'
  | 'task_escalated'
  | 'task_failed'
  | 'task_expired'
  | 'paused'
  | 'resumed'
  | 'rerender'
  | 'completed'
  | 'failed'
  | 'cancelled'

/**
 * The `data` of each kind of job event, as the network sends it (snake_case keys, passed through
 * as JSON). Ids, counts and times are numbers, and so are amounts of money inside `data`: integers
 * of micro-credits (1 credit = 1 000 000), not the `Money` objects of the rest of this API. (A
 * value past `Number.MAX_SAFE_INTEGER`, which no real id, count or amount reaches, would arrive as
 * a `bigint`.)
 */
export interface JobEventData {
  /** The job was accepted: its escrow is held and its tasks queued. */
  submitted: {
    /** Tasks the job was split into. */
    tasks: number
    /** Money moved from the creator's balance into the job's escrow. In micro-credits. */
    escrow_hold: number
    /** The scheduling strategy that priced it. */
    strategy: string
  }
  /** A worker leased the job's first task. */
  started: Record<string, never>
  /**
   * A worker leased a pending task (its first lease or a retry); the worker must now heartbeat
   * to keep the lease.
   */
  task_leased: {
    /** The task leased: the id the worker's heartbeats, result and failure report name. */
    task: number
    /** The worker that holds the lease. */
    worker: number
    /** The lease's attempt (fencing token). */
    attempt: number
    /** The frames the task renders. */
    frames: number[]
  }
  /** A worker reported progress on a task (with each heartbeat). */
  task_progress: {
    /** The task the heartbeat was for; its lease now lapses `lease_ttl_ms` after `at_ms`. */
    task: number
    /** The worker holding the task's lease, which sent the heartbeat. */
    worker: number
    /** Progress, per mille (0..=1000). */
    progress_permille: number
  }
  /** A worker delivered a task's signed result; it waits for a checker. */
  task_uploaded: {
    /** The task whose result arrived; it is now `verifying` and a check for it is queued. */
    task: number
    /** The worker that rendered it. */
    worker: number
    /** The worker's wall-clock render time, ms (as reported, not trusted). */
    render_ms: number
    /** The outputs, one per frame (or the task's tile). */
    outputs: Array<{
      /** The frame this file renders; for a tile task, the still's frame number. */
      frame: number
      /** BLAKE3 hex of the uploaded image file (uploaded first as a blob). */
      hash: string
      /** Size in bytes. */
      size: number
      /**
       * What the checker verifies this frame with, when Blender finished it with the scene's
       * settings: the render before denoising, compositing and the view transform (see
       * docs/VERIFICATION.md, "Faithful frames").
       */
      evidence?: {
        /** BLAKE3 hex of the evidence (a multilayer OpenEXR). */
        hash: string
        /** Size in bytes. */
        size: number
      }
      /**
       * The file's name as the scene's output settings name it (`shot_0001.png`) when Blender
       * wrote it with the scene's settings (`output: scene`); absent for frames Pictor encodes,
       * which download as `frame_NNNN.<ext>`. A plain file name: see `valid_output_name`.
       */
      name?: string
      /**
       * The renderer version that finished the frame (`4.2.0`), for a frame Blender finished with
       * the scene's settings: the checker refinishes with the same version, or escalates.
       */
      renderer_version?: string
    }>
  }
  /** A checker accepted a task's result: its frames are delivered and its hold paid out. */
  task_accepted: {
    /** The task accepted; `GET /v1/jobs/{id}/frames` lists its outputs under this id. */
    task: number
    /** The worker that rendered the result; its earnings get the worker's share of `cost`. */
    worker: number
    /** The checker whose accept verdict settled the task; it earns the checker's fee. */
    checker: number
    /** What the task cost the creator. In micro-credits. */
    cost: number
    /** The frames now downloadable. */
    frames: number[]
  }
  /** A checker rejected a task's result (or could not decide): the task is rendered again. */
  task_rejected: {
    /** The task rejected: queued again with its next attempt, or failed if out of attempts. */
    task: number
    /** The worker whose result was rejected. */
    worker: number
    /** The checker whose verdict (a reject, or an escalation past the cap) ended the check. */
    checker: number
    /** The checker's reasons, as JSON text. */
    reason: string
    /** Whether the worker is now barred from the job. */
    worker_blocked: boolean
    /** True when escalations ran out without a decision: not counted against the worker. */
    inconclusive: boolean
  }
  /** A checker asked for a second check with more evidence. */
  task_escalated: {
    /** The task whose result is checked again; it stays `verifying` until a later verdict. */
    task: number
    /** How many times the result has been escalated. */
    escalation: number
  }
  /** A worker reported it could not render a task; the task is queued again (or fails). */
  task_failed: {
    /** The task given up on: queued again with its next attempt, or failed if out of attempts. */
    task: number
    /** The worker that held the lease; the failure counts against it in this job. */
    worker: number
    /** The worker's reason. */
    message: string
  }
  /** A task's lease lapsed without a result; the task is queued again (or fails). */
  task_expired: {
    /** The task whose lease lapsed; a late heartbeat or result of that lease is refused. */
    task: number
    /** The worker that held the lease. */
    worker: number | null
  }
  /** The job stopped taking new leases. */
  paused: {
    /** Who or what paused it. */
    reason: 'creator' | 'funds'
    /** For a pause for funds: how much more the creator must deposit. In micro-credits. */
    short?: number
  }
  /** The job takes leases again. */
  resumed: {
    /** What it was paused for. */
    reason: 'creator' | 'funds'
  }
  /** The creator asked for frames again; their accepted outputs were withdrawn. */
  rerender: {
    /**
     * Every frame of the accepted tasks that held the requested frames (a whole chunk or still
     * is redone), ascending, without duplicates.
     */
    frames: number[]
  }
  /** Every task was accepted. Final. */
  completed: {
    /** Frames (or tiles) delivered. */
    frames: number
  }
  /** A task ran out of attempts, so the job failed; its open holds returned. Final. */
  failed: {
    /**
     * The task that ran out of attempts (its last `task_failed`, `task_expired` or
     * `task_rejected` event came just before this one).
     */
    task: number
    /** Attempts it had. */
    attempts: number
    /** The last failure's reason. */
    reason: string
  }
  /** The creator cancelled the job; its open holds returned. Final. */
  cancelled: Record<string, never>
}

/**
 * One event of a job: a union discriminated by `kind`, so checking `event.kind` types
 * `event.data` (`if (event.kind === 'task_accepted') event.data.frames`). The stream ends after
 * `completed`, `failed` or `cancelled`.
 */
export type JobEvent = {
  [K in JobEventKind]: {
    /** Sequence number within the job, from 1. */
    seq: number
    /** What happened. */
    kind: K
    /** Unix time, ms. */
    atMs: number
    /** The event's details: see {@link JobEventData}. */
    data: JobEventData[K]
  }
}[JobEventKind]
// END GENERATED JobEvent

export interface UploadProgress {
  bytesDone: number
  bytesTotal: number
  filesDone: number
  filesTotal: number
}

export interface UploadStats {
  bytesSent: number
  blobsUploaded: number
  blobsSkipped: number
}

export interface UploadedAsset {
  /** The asset id to put in a spec's `scene`. */
  id: string
  totalSize: number
  files: number
  stats: UploadStats
}

export interface UploadedBlob {
  hash: string
  size: number
  stats: UploadStats
}

export interface Frame {
  task: number
  frame: number
  hash: string
  size: number
}

export interface DownloadedFrame {
  frame: number
  path: string
  size: number
  /** False when a file with the right hash was already there. */
  downloaded: boolean
}

export interface Account {
  id: number
  role: Role
  name: string
  balance: Money
}

export interface NewAccount {
  account: Account
  /** The API key, shown this once: keep it secret. */
  apiKey: string
}

export interface WatchOptions {
  /** Aborting ends the iteration at once, throwing the signal's reason. */
  signal?: AbortSignal
  /** Resume after this sequence number. */
  afterSeq?: number
}

export interface ListOptions {
  pageSize?: number
  signal?: AbortSignal
}

export interface UploadOptions {
  /** Called on the JS thread after each chunk (and at the start and the end). */
  onProgress?: (progress: UploadProgress) => void
}

/** A client of one Pictor network. Every method returns a Promise, except the iterators. */
export declare class Client {
  constructor(options: ClientOptions)
  /** The base URL requests go to. */
  readonly endpoint: string
  health(): Promise<void>
  /** The caller's own account. */
  account(): Promise<Account>
  /** One account (admin key). */
  getAccount(accountId: number): Promise<Account>
  /** Opens an account (admin key). */
  createAccount(role: 'creator' | 'worker' | 'checker', name: string): Promise<NewAccount>
  /** Credits an account (admin key); `amount` in credits, as an exact decimal string. */
  deposit(accountId: number, amount: string, options?: { idempotencyKey?: string }): Promise<Account>
  /** Uploads a scene folder (only what the network lacks) and commits its manifest. */
  uploadFolder(folder: string, mainFile: string, options?: UploadOptions): Promise<UploadedAsset>
  /** Uploads one file as a blob. */
  uploadFile(path: string): Promise<UploadedBlob>
  quote(spec: JobSpecInput): Promise<Quote>
  /**
   * Submits a job. `maxCost` (credits, as an exact decimal string: the quote's `escrowHold` the
   * creator confirmed) is the most that may be held: a higher hold rejects with an
   * `InfeasibleError` (quote again), and nothing is held.
   */
  submit(spec: JobSpecInput, options?: { idempotencyKey?: string; maxCost?: string }): Promise<Job>
  getJob(jobId: number): Promise<Job>
  /** The caller's jobs, newest first, paged as they are read. */
  listJobs(options?: ListOptions): AsyncGenerator<Job, void, undefined>
  cancelJob(jobId: number): Promise<Job>
  pauseJob(jobId: number): Promise<Job>
  resumeJob(jobId: number): Promise<Job>
  /** Renders these frames again (`"2"`, `"1-3"`). */
  rerender(jobId: number, frames: string): Promise<Job>
  /** The job's events; `for await` ends after the final one. */
  watch(jobId: number, options?: WatchOptions): AsyncGenerator<JobEvent, void, undefined>
  frames(jobId: number): Promise<Frame[]>
  /**
   * Downloads every accepted frame into `dir`: under the name the scene gives it for an
   * `output: 'scene'` job (`sh010_0001.png`), else `frame_0001.png`, …; each file is checked
   * against its hash, except a still cut into tiles, which is served merged and has no one hash.
   */
  downloadFrames(jobId: number, dir: string): Promise<DownloadedFrame[]>
}

export interface ErrorDetails {
  code?: string
  status?: number
  requestId?: string
  field?: string
  path?: string
  cause?: unknown
}

/** Base class of every error this package throws. */
export declare class PictorError extends Error {
  constructor(message: string, details?: ErrorDetails)
  /** The network's code (`not_found`, `invalid_input`, …) or a local one (`transport`, `io`, …). */
  readonly code: string
  /** The HTTP status, when the network answered. */
  readonly status: number | undefined
  /** The network's request id of the failed response. */
  readonly requestId: string | undefined
}
/** 401 or 403. */
export declare class AuthError extends PictorError {}
/** 404. */
export declare class NotFoundError extends PictorError {}
/** 402. */
export declare class InsufficientFundsError extends PictorError {}
/** An invalid argument (refused locally or with 400). */
export declare class ValidationError extends PictorError {
  /** The offending field, when known. */
  readonly field: string | undefined
}
/** 409. */
export declare class ConflictError extends PictorError {}
/** 422: no plan meets the deadline or budget, or no worker is online. */
export declare class InfeasibleError extends PictorError {}
/** 429. */
export declare class RateLimitError extends PictorError {}
/** The network could not be reached. */
export declare class NetworkError extends PictorError {}
/** A local file or folder failed. */
export declare class FileError extends PictorError {
  readonly path: string | undefined
}
/** Bytes that did not match their hash, or an answer that did not decode. */
export declare class IntegrityError extends PictorError {}

/** The event kinds after which a job's event stream ends. */
export declare const FINAL_EVENT_KINDS: readonly ['completed', 'failed', 'cancelled']
/** The native addon's version. */
export declare function nativeVersion(): string
