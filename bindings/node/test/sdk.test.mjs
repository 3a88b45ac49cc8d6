// @pictor/sdk against a real network: `pictor serve` with two worker agents and a checker.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

import {
  AuthError,
  Client,
  ConflictError,
  FileError,
  InfeasibleError,
  InsufficientFundsError,
  IntegrityError,
  NetworkError,
  NotFoundError,
  PictorError,
  ValidationError,
} from '../index.mjs'
import { Network, demoScene, repoRoot, tinySpec } from './network.mjs'

/** `Money.formatted` computed independently from `Money.micros`. */
function formatMicros(micros) {
  const value = BigInt(micros)
  return `${value / 1_000_000n}.${(value % 1_000_000n).toString().padStart(6, '0')}`
}

function assertMoney(money) {
  assert.match(money.micros, /^\d+$/)
  assert.equal(money.formatted, formatMicros(money.micros))
}

/** The file named `name` somewhere under `dir`. */
async function findFile(dir, name) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) {
      const found = await findFile(path, name)
      if (found) return found
    } else if (entry.name === name) {
      return path
    }
  }
  return undefined
}

async function collect(iterable) {
  const items = []
  for await (const item of iterable) items.push(item)
  return items
}

function assertEventSequence(events, lastKind) {
  assert.ok(events.length >= 2, `at least two events, got ${events.length}`)
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i].seq > events[i - 1].seq, 'sequence numbers increase')
  }
  assert.equal(events.at(-1).kind, lastKind)
  for (const event of events.slice(0, -1)) {
    assert.ok(!['completed', 'failed', 'cancelled'].includes(event.kind), 'only the last event is final')
  }
}

let network
let scene

before(async () => {
  network = await Network.start({ workers: 2, checker: true })
  scene = await network.uploadScene()
  await network.waitForWorkers(tinySpec(scene))
})

after(async () => {
  await network?.stop()
})

describe('job flow', () => {
  test('upload with progress, quote, submit, watch to completion, frames, download, list, re-render', { timeout: 120_000 }, async () => {
    const creator = network.creator
    // A fresh folder (a second texture) so the upload really sends bytes and reports progress.
    const folder = join(network.dir, 'flow-scene')
    await mkdir(folder)
    await copyFile(demoScene, join(folder, 'scene.toml'))
    await writeFile(join(folder, 'texture.bin'), Buffer.alloc(3 << 20, 7))
    const progress = []
    const asset = await creator.uploadFolder(folder, 'scene.toml', { onProgress: (p) => progress.push(p) })
    assert.match(asset.id, /^[0-9a-f]{64}$/)
    assert.equal(asset.files, 2)
    assert.equal(asset.stats.blobsUploaded, 1, 'the scene file was uploaded before; only the texture is sent')
    assert.equal(asset.stats.blobsSkipped, 1)
    assert.ok(progress.length >= 2, 'progress was reported')
    const last = progress.at(-1)
    assert.equal(last.bytesDone, last.bytesTotal)
    assert.equal(last.bytesTotal, asset.totalSize)
    assert.equal(last.filesDone, 2)
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i].bytesDone >= progress[i - 1].bytesDone)

    const before = await creator.account()
    assert.equal(before.role, 'creator')
    assert.equal(before.balance.micros, '1000000000')
    assert.equal(before.balance.formatted, '1000.000000')

    const spec = tinySpec(asset.id, '1-3')
    const quote = await creator.quote(spec)
    for (const money of [quote.costP50, quote.costP90, quote.escrowHold]) assertMoney(money)
    assert.ok(BigInt(quote.costP50.micros) <= BigInt(quote.costP90.micros))
    assert.ok(BigInt(quote.costP90.micros) > 0n)
    assert.deepEqual(quote.tiers.map((t) => t.tier), ['economy', 'standard', 'priority'])
    const { worker, checker, network: fee } = quote.feeSplitP90
    assert.equal(
      BigInt(worker.micros) + BigInt(checker.micros) + BigInt(fee.micros),
      BigInt(quote.costP90.micros),
      'the fee split adds up exactly',
    )

    const job = await network.submit(spec)
    assert.ok(['queued', 'running'].includes(job.state), job.state)
    assert.equal(job.spec.frames, '1-3')
    assert.equal(job.spec.width, 192)
    assert.equal(job.spec.output, 'exr')
    assert.equal(job.tasksTotal, 3)

    const events = await collect(creator.watch(job.id))
    assert.equal(events[0].kind, 'submitted')
    assert.equal(events[0].seq, 1)
    assertEventSequence(events, 'completed')
    assert.equal(events.filter((e) => e.kind === 'task_accepted').length >= 3, true)
    assert.equal(typeof events[0].data, 'object')

    const done = await creator.getJob(job.id)
    assert.equal(done.state, 'completed')
    assert.equal(done.tasksAccepted, 3)
    assertMoney(done.spent)
    assert.equal(done.escrow.micros, '0', 'unused escrow was returned')

    const afterJob = await creator.account()
    assert.equal(
      BigInt(afterJob.balance.micros),
      BigInt(before.balance.micros) - BigInt(done.spent.micros),
      'the balance fell by exactly what was spent',
    )

    const frames = await creator.frames(job.id)
    assert.deepEqual(frames.map((f) => f.frame).sort(), [1, 2, 3])
    const out = await mkdtemp(join(tmpdir(), 'pictor-node-frames-'))
    try {
      const written = await creator.downloadFrames(job.id, out)
      assert.equal(written.length, 3)
      for (const frame of written) {
        assert.ok(frame.downloaded)
        assert.equal((await stat(frame.path)).size, frame.size)
        const bytes = await readFile(frame.path)
        assert.deepEqual([...bytes.subarray(0, 4)], [0x76, 0x2f, 0x31, 0x01], 'an OpenEXR file')
      }
      assert.equal(written[0].path, join(out, 'frame_0001.exr'))
      const again = await creator.downloadFrames(job.id, out)
      assert.ok(again.every((f) => !f.downloaded), 'frames already there are kept')
    } finally {
      await rm(out, { recursive: true, force: true })
    }

    const listed = await collect(creator.listJobs({ pageSize: 1 }))
    assert.ok(listed.some((j) => j.id === job.id && j.state === 'completed'))

    // A finished job is not re-rendered: that is a new job.
    await assert.rejects(creator.rerender(job.id, '2'), (error) => {
      assert.ok(error instanceof ConflictError)
      assert.equal(error.status, 409)
      return true
    })
  })

  test('re-render a frame mid-job; a watch left with `break` resumes after the last event seen', { timeout: 120_000 }, async () => {
    const creator = network.creator
    const job = await network.submit(tinySpec(scene, '1-8'))
    const seen = []
    let redone
    for await (const event of creator.watch(job.id)) {
      seen.push(event)
      if (event.kind === 'task_accepted') {
        redone = event.data.frames[0]
        break
      }
    }
    assert.equal(typeof redone, 'number')
    const redo = await creator.rerender(job.id, String(redone))
    assert.equal(redo.id, job.id)
    assert.ok(['running', 'queued'].includes(redo.state), redo.state)
    const rest = await collect(creator.watch(job.id, { afterSeq: seen.at(-1).seq }))
    assert.equal(rest[0].seq, seen.at(-1).seq + 1, 'no event lost or repeated')
    const rerender = rest.find((e) => e.kind === 'rerender')
    assert.ok(rerender, 'a rerender event')
    assert.deepEqual(rerender.data.frames, [redone])
    assertEventSequence(rest, 'completed')
    const done = await creator.getJob(job.id)
    assert.equal(done.state, 'completed')
    assert.equal(done.tasksTotal, 9, 'one task added for the re-rendered frame')
    assert.equal(done.tasksAccepted, done.tasksTotal)
  })

  test('cancel: the watch ends with `cancelled`, the escrow returns, a second cancel conflicts', async () => {
    const creator = network.creator
    const job = await network.submit(tinySpec(scene, '1-60'))
    const cancelled = await creator.cancelJob(job.id)
    assert.equal(cancelled.state, 'cancelled')
    const events = await collect(creator.watch(job.id))
    assertEventSequence(events, 'cancelled')
    const view = await creator.getJob(job.id)
    assert.equal(view.escrow.micros, '0')
    await assert.rejects(creator.cancelJob(job.id), (error) => {
      assert.ok(error instanceof ConflictError)
      assert.equal(error.status, 409)
      assert.equal(error.code, 'conflict')
      return true
    })
  })

  test('concurrent watches of several jobs each end with their own completion', { timeout: 120_000 }, async () => {
    const creator = network.creator
    const jobs = []
    for (const frames of ['1', '2-3', '4-5']) jobs.push(await network.submit(tinySpec(scene, frames)))
    const streams = await Promise.all(jobs.map((job) => collect(creator.watch(job.id))))
    for (const [i, events] of streams.entries()) {
      assertEventSequence(events, 'completed')
      assert.equal(events[0].kind, 'submitted')
      const view = await creator.getJob(jobs[i].id)
      assert.equal(view.state, 'completed')
      assert.equal(events.filter((e) => e.kind === 'task_accepted').length, view.tasksTotal)
    }
  })
})

describe('abort', () => {
  test('aborting mid-watch ends the loop promptly with the signal’s reason', async () => {
    const creator = network.creator
    const job = await network.submit(tinySpec(scene, '1-60'))
    await creator.pauseJob(job.id)
    const controller = new AbortController()
    const seen = []
    let abortedAt
    const started = Date.now()
    await assert.rejects(
      (async () => {
        for await (const event of creator.watch(job.id, { signal: controller.signal })) {
          seen.push(event)
          if (abortedAt === undefined) {
            // Abort while the next() is waiting on an idle (paused) stream.
            setTimeout(() => {
              abortedAt = Date.now()
              controller.abort()
            }, 300)
          }
        }
      })(),
      (error) => {
        assert.equal(error.name, 'AbortError')
        return true
      },
    )
    assert.ok(seen.length >= 1)
    assert.equal(seen[0].kind, 'submitted')
    assert.ok(abortedAt !== undefined)
    const took = Date.now() - abortedAt
    assert.ok(took < 500, `the loop ended ${took} ms after abort`)
    assert.ok(Date.now() - started < 10_000)

    // An already aborted signal yields nothing.
    await assert.rejects(collect(creator.watch(job.id, { signal: AbortSignal.abort() })), { name: 'AbortError' })

    // A custom reason is what the loop throws.
    const reason = new Error('user closed the panel')
    const custom = new AbortController()
    const pending = collect(creator.watch(job.id, { signal: custom.signal }))
    setTimeout(() => custom.abort(reason), 100)
    await assert.rejects(pending, (error) => error === reason)

    const resumed = await creator.resumeJob(job.id)
    assert.notEqual(resumed.state, 'paused')
    await creator.cancelJob(job.id)
  })

  for (const mode of ['abort', 'break']) {
    test(`a process that ${mode}s a watch mid-job exits by itself (no background task left)`, async () => {
      const job = await network.submit(tinySpec(scene, '1-60'))
      await network.creator.pauseJob(job.id)
      const fixture = fileURLToPath(new URL('./fixtures/watch-then-stop.mjs', import.meta.url))
      const child = spawn(process.execPath, [fixture, mode], {
        env: {
          ...process.env,
          PICTOR_NETWORK: network.url,
          PICTOR_API_KEY: network.creatorAccount.apiKey,
          PICTOR_JOB: String(job.id),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      let stdout = ''
      child.stdout.on('data', (chunk) => (stdout += chunk))
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      const [code, signal] = await once(child, 'exit')
      clearTimeout(timer)
      assert.equal(signal, null, 'the process exited on its own (it was not killed)')
      assert.equal(code, 0)
      assert.match(stdout, mode === 'abort' ? /stopped: AbortError/ : /stopped: break/)
      const exitedAfter = Number(/exit-in-ms (\d+)/.exec(stdout)?.[1] ?? NaN)
      assert.ok(Number.isFinite(exitedAfter))
      assert.ok(exitedAfter < 5000, `the process exited ${exitedAfter} ms after the watch stopped`)
      await network.creator.cancelJob(job.id)
    })
  }
})

describe('errors', () => {
  test('a wrong API key is an AuthError with status, code and request id (and the key is not in it)', async () => {
    const key = 'pk_this_key_does_not_exist_0123456789'
    const client = network.client(key)
    await assert.rejects(client.account(), (error) => {
      assert.ok(error instanceof AuthError)
      assert.ok(error instanceof PictorError)
      assert.ok(error instanceof Error)
      assert.equal(error.name, 'AuthError')
      assert.equal(error.status, 401)
      assert.equal(error.code, 'unauthorized')
      assert.equal(typeof error.requestId, 'string')
      assert.ok(error.requestId.length > 0)
      assert.ok(!error.message.includes(key))
      assert.ok(!JSON.stringify(error).includes(key))
      return true
    })
    // A creator may not open accounts: 403 is an AuthError too.
    await assert.rejects(network.creator.createAccount('creator', 'nope'), (error) => {
      assert.ok(error instanceof AuthError)
      assert.equal(error.status, 403)
      assert.equal(error.code, 'forbidden')
      return true
    })
  })

  test('an unknown job is a NotFoundError', async () => {
    await assert.rejects(network.creator.getJob(987_654), (error) => {
      assert.ok(error instanceof NotFoundError)
      assert.equal(error.status, 404)
      assert.equal(error.code, 'not_found')
      assert.match(error.requestId, /\S/)
      return true
    })
    await assert.rejects(network.creator.watch(987_654).next(), NotFoundError)
  })

  test('a submission without funds is an InsufficientFundsError', async () => {
    const broke = await network.createCreator('broke', '0')
    const client = network.client(broke.apiKey)
    const asset = await client.uploadFolder(network.sceneDir, 'scene.toml')
    await assert.rejects(network.submit(tinySpec(asset.id, '1-2'), client), (error) => {
      assert.ok(error instanceof InsufficientFundsError)
      assert.equal(error.status, 402)
      assert.equal(error.code, 'insufficient_funds')
      assert.match(error.requestId, /\S/)
      return true
    })
  })

  test('an invalid spec is a ValidationError naming the field', async () => {
    const creator = network.creator
    const cases = [
      [{ samples: 0 }, 'samples'],
      [{ width: 0, height: 36 }, 'resolution.width'],
      [{ width: 64, height: undefined }, 'width'],
      [{ output: 'gif' }, 'output'],
      [{ tier: 'gold' }, 'tier'],
      [{ budgetCap: '1.0000001' }, 'budgetCap'],
      [{ tags: ['no spaces'] }, 'tags'],
    ]
    for (const [extra, field] of cases) {
      await assert.rejects(creator.submit(tinySpec(scene, '1', extra)), (error) => {
        assert.ok(error instanceof ValidationError, `${JSON.stringify(extra)}: ${error}`)
        assert.equal(error.code, 'invalid_input')
        assert.equal(error.field, field, JSON.stringify(extra))
        return true
      })
    }
    await assert.rejects(creator.quote({ ...tinySpec(scene), frames: '5-1' }), (error) => {
      assert.ok(error instanceof ValidationError)
      assert.equal(error.field, 'frames')
      return true
    })
    await assert.rejects(creator.quote({ ...tinySpec(scene), scene: 'not-a-hash' }), ValidationError)
    // An upscale's settings are checked when the spec is built…
    const upscale = (settings, extra = {}) => ({ scene, frames: '1', upscale: { inputWidth: 48, inputHeight: 40, ...settings }, ...extra })
    for (const [settings, extra, field] of [
      [{ factor: 3 }, {}, 'upscale.factor'],
      [{ factor: 4, tile: 8 }, {}, 'upscale.tile'],
      [{ factor: 2 }, { width: 96, height: 80 }, 'upscale'],
    ]) {
      await assert.rejects(creator.quote(upscale(settings, extra)), (error) => {
        assert.ok(error instanceof ValidationError, `${JSON.stringify(settings)}: ${error}`)
        assert.equal(error.field, field, JSON.stringify(settings))
        return true
      })
    }
    // …and by the network against the asset: a scene is not an upscale's images.
    await assert.rejects(creator.quote(upscale({ factor: 2 })), (error) => {
      assert.ok(error instanceof ValidationError, `${error}`)
      assert.equal(error.field, 'renderer')
      return true
    })
    // Refused by the network itself (400), with a request id.
    await assert.rejects(network.admin.createAccount('creator', ''), (error) => {
      assert.ok(error instanceof ValidationError)
      assert.equal(error.status, 400)
      assert.equal(error.field, 'name')
      assert.match(error.requestId, /\S/)
      return true
    })
    assert.throws(() => new Client({ endpoint: 'ftp://example.com' }), (error) => {
      assert.ok(error instanceof ValidationError)
      assert.equal(error.field, 'endpoint')
      return true
    })
    assert.throws(() => creator.watch(-1), ValidationError)
  })

  test('a plan that cannot meet the deadline or the budget is an InfeasibleError', async () => {
    const creator = network.creator
    const huge = tinySpec(scene, '1-200', { width: 3840, height: 2160, samples: 4096, deadlineSecs: 1 })
    await assert.rejects(creator.quote(huge), (error) => {
      assert.ok(error instanceof InfeasibleError)
      assert.equal(error.status, 422)
      assert.equal(error.code, 'infeasible')
      assert.match(error.requestId, /\S/)
      return true
    })
    await assert.rejects(creator.submit(tinySpec(scene, '1-2', { budgetCap: '0.000001' })), InfeasibleError)
    // A confirmed cost below the hold is refused, and nothing is held.
    const spec = tinySpec(scene, '1-2')
    const quote = await creator.quote(spec)
    const before = (await creator.account()).balance.micros
    const below = (BigInt(quote.escrowHold.micros) - 1n).toString()
    const credits = `${below.slice(0, -6) || '0'}.${below.slice(-6).padStart(6, '0')}`
    await assert.rejects(creator.submit(spec, { maxCost: credits }), (error) => {
      assert.ok(error instanceof InfeasibleError)
      assert.match(error.message, /above the .* you confirmed/)
      return true
    })
    assert.equal((await creator.account()).balance.micros, before)
  })

  test('a missing local file or folder is a FileError naming the path; uploads are deduplicated', async () => {
    const creator = network.creator
    const missing = join(network.dir, 'missing.bin')
    await assert.rejects(creator.uploadFile(missing), (error) => {
      assert.ok(error instanceof FileError)
      assert.equal(error.code, 'io')
      assert.equal(error.path, missing)
      assert.equal(error.status, undefined)
      return true
    })
    await assert.rejects(creator.uploadFolder(join(network.dir, 'no-such-scene'), 'scene.toml'), FileError)
    const file = join(network.dir, 'blob.bin')
    await writeFile(file, 'pictor node blob\n')
    const first = await creator.uploadFile(file)
    assert.match(first.hash, /^[0-9a-f]{64}$/)
    assert.equal(first.size, 17)
    assert.equal(first.stats.blobsUploaded, 1)
    const again = await creator.uploadFile(file)
    assert.equal(again.hash, first.hash)
    assert.equal(again.stats.blobsSkipped, 1)
    assert.equal(again.stats.bytesSent, 0)
  })

  test('a frame corrupted on the server is an IntegrityError, and nothing is left in the folder', { timeout: 120_000 }, async () => {
    const creator = network.creator
    // Its own seed: no other test shares this frame's bytes (blobs are content-addressed).
    const job = await network.submit(tinySpec(scene, '7', { seed: 4242 }))
    assertEventSequence(await collect(creator.watch(job.id)), 'completed')
    const [frame] = await creator.frames(job.id)
    const stored = await findFile(join(network.dir, 'data'), frame.hash)
    assert.ok(stored, 'the frame is stored under its hash')
    const bytes = await readFile(stored)
    bytes[bytes.length - 1] ^= 0xff
    await writeFile(stored, bytes)
    const out = await mkdtemp(join(tmpdir(), 'pictor-node-corrupt-'))
    try {
      await assert.rejects(creator.downloadFrames(job.id, out), (error) => {
        assert.ok(error instanceof IntegrityError, String(error))
        assert.equal(error.code, 'integrity')
        assert.ok(error.message.includes(frame.hash))
        return true
      })
      assert.deepEqual(await readdir(out), [], 'no partial file is left behind')
    } finally {
      await rm(out, { recursive: true, force: true })
    }
  })

  test('an unreachable endpoint is a NetworkError', async () => {
    const client = new Client({ endpoint: 'http://127.0.0.1:9', maxRetries: 0, connectTimeoutMs: 2000 })
    await assert.rejects(client.health(), (error) => {
      assert.ok(error instanceof NetworkError)
      assert.ok(error instanceof PictorError)
      assert.equal(error.code, 'transport')
      assert.equal(error.status, undefined)
      return true
    })
  })
})

describe('event loop', () => {
  test('a 100 MB upload never blocks the event loop for 100 ms', async (t) => {
    const folder = join(network.dir, 'big-scene')
    await mkdir(folder)
    await copyFile(demoScene, join(folder, 'scene.toml'))
    const big = Buffer.alloc(100 * 1024 * 1024)
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i) // not all one byte
    await writeFile(join(folder, 'cache.bin'), big)

    let last = performance.now()
    let worst = 0
    let ticks = 0
    const interval = setInterval(() => {
      const now = performance.now()
      worst = Math.max(worst, now - last)
      last = now
      ticks++
    }, 10)
    const progress = []
    let asset
    try {
      last = performance.now()
      asset = await network.creator.uploadFolder(folder, 'scene.toml', { onProgress: (p) => progress.push(p) })
    } finally {
      clearInterval(interval)
    }
    const now = performance.now()
    worst = Math.max(worst, now - last)
    assert.equal(asset.totalSize, big.length + (await stat(join(folder, 'scene.toml'))).size)
    assert.ok(asset.stats.bytesSent >= big.length, 'the 100 MB blob was sent')
    assert.ok(progress.length >= 12, `progress after each 8 MiB chunk (${progress.length} reports)`)
    assert.ok(ticks >= 5, `the interval ran during the upload (${ticks} ticks)`)
    t.diagnostic(`100 MB upload: ${ticks} ticks of a 10 ms interval, longest gap ${worst.toFixed(1)} ms`)
    assert.ok(worst < 100, `the longest event-loop gap was ${worst.toFixed(1)} ms`)
  })
})

describe('examples/node/submit-and-watch.mjs', () => {
  const script = join(repoRoot, 'examples', 'node', 'submit-and-watch.mjs')

  function run(args, onLine = () => {}) {
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, PICTOR_NETWORK: network.url, PICTOR_API_KEY: network.creatorAccount.apiKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
      for (const line of String(chunk).split('\n')) if (line) onLine(line)
    })
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
    return once(child, 'exit').then(([code]) => {
      clearTimeout(timer)
      return { code, stdout, stderr }
    })
  }

  const size = ['--width', '192', '--height', '108', '--samples', '16', '--format', 'exr', '--tier', 'priority']

  test('submits a scene folder, prints progress and exits 0 when the job completes', { timeout: 120_000 }, async () => {
    const out = await mkdtemp(join(tmpdir(), 'pictor-node-example-'))
    try {
      const { code, stdout, stderr } = await run([network.sceneDir, '--frames', '1-2', ...size, '--out', out])
      assert.equal(code, 0, stderr)
      assert.match(stdout, /^upload 100% /m)
      assert.match(stdout, /^quote: P50 \d+\.\d{6} cr, P90 \d+\.\d{6} cr/m)
      assert.match(stdout, /^job \d+ submitted: 2 tasks/m)
      assert.match(stdout, /^frames \d accepted \(\d\/2 tasks\)$/m)
      assert.match(stdout, /^job \d+ completed: spent \d+\.\d{6} cr$/m)
      assert.match(stdout, /^2 frames in /m)
      await stat(join(out, 'frame_0002.exr'))
    } finally {
      await rm(out, { recursive: true, force: true })
    }
  })

  test('exits 1 when the job is cancelled and 2 on an error', { timeout: 120_000 }, async () => {
    let cancelling
    const cancelled = await run([network.sceneDir, '--frames', '1-60', ...size], (line) => {
      const id = /^job (\d+) submitted/.exec(line)?.[1]
      if (id) cancelling = network.creator.cancelJob(Number(id))
    })
    await cancelling
    assert.equal(cancelled.code, 1, cancelled.stderr)
    assert.match(cancelled.stdout, /^job \d+ cancelled/m)

    const missing = await run([join(network.dir, 'no-such-folder'), ...size])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /^error: FileError io/m)

    const invalid = await run([network.sceneDir, '--frames', '1', '--samples', '0'])
    assert.equal(invalid.code, 2)
    assert.match(invalid.stderr, /^error: ValidationError invalid_input \(field samples\)/m)
  })
})
