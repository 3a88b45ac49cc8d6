// A real Pictor network for the tests: `pictor serve` on 127.0.0.1 (port 0) in a temp dir, worker
// agents (`pictor worker init` + `pictor worker run`, built-in renderer) and a checker
// (`pictor checker run`) as child processes. Every child is killed on `stop()` and, as a last resort,
// when the test process exits. API keys travel through the environment, never argv or logs.

import { spawn, execFile } from 'node:child_process'
import { once } from 'node:events'
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { openSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'

import { Client, InfeasibleError } from '../index.mjs'

const here = dirname(fileURLToPath(import.meta.url))
export const repoRoot = resolve(here, '..', '..', '..')
export const demoScene = join(repoRoot, 'examples', 'scenes', 'demo', 'scene.toml')

/** The `pictor` binary: `PICTOR_BIN`, else `${CARGO_TARGET_DIR:-target}/debug/pictor`. */
export function pictorBin() {
  if (process.env.PICTOR_BIN) return process.env.PICTOR_BIN
  const target = process.env.CARGO_TARGET_DIR ?? join(repoRoot, 'target')
  return resolve(repoRoot, target, 'debug', 'pictor')
}

/**
 * A small job on the demo scene: fast on two shared cores. 192×108 at 16 spp in EXR, as the Rust
 * network tests: smaller frames or 8-bit PNG make the checker reject honest frames now and then
 * (pictor-network/tests/agents.rs), which blocks the worker and stalls the job.
 */
export function tinySpec(scene, frames = '1-2', extra = {}) {
  return { scene, frames, width: 192, height: 108, samples: 16, output: 'exr', tier: 'priority', ...extra }
}

const children = new Set()
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})

function track(child) {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = once(child, 'exit')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
  await exited
  clearTimeout(timer)
}

export class Network {
  /** @param {{ workers?: number, checker?: boolean }} options */
  static async start({ workers = 2, checker = true } = {}) {
    const dir = await mkdtemp(join(tmpdir(), 'pictor-node-test-'))
    const network = new Network(dir)
    try {
      await network.#serve()
      network.creatorAccount = await network.createCreator('studio', '1000')
      network.creator = network.client(network.creatorAccount.apiKey)
      for (let i = 1; i <= workers; i++) await network.startWorker(`node-worker-${i}`)
      if (checker) await network.startChecker()
      const sceneDir = join(dir, 'scene')
      await mkdir(sceneDir)
      await copyFile(demoScene, join(sceneDir, 'scene.toml'))
      network.sceneDir = sceneDir
    } catch (error) {
      await network.stop()
      throw error
    }
    return network
  }

  constructor(dir) {
    this.dir = dir
    this.children = []
  }

  #spawn(name, args, env = {}) {
    const log = openSync(join(this.dir, `${name}.log`), 'a')
    const child = track(
      spawn(pictorBin(), args, {
        stdio: ['ignore', log, log],
        env: { ...process.env, ...env },
      }),
    )
    closeSync(log)
    this.children.push(child)
    return child
  }

  async #serve() {
    const child = track(
      spawn(
        pictorBin(),
        ['serve', '--listen', '127.0.0.1:0', '--data', join(this.dir, 'data'), '--json'],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      ),
    )
    this.children.push(child)
    const lines = createInterface({ input: child.stdout })
    const first = await Promise.race([
      once(lines, 'line').then(([line]) => line),
      once(child, 'exit').then(([code]) => {
        throw new Error(`pictor serve exited with ${code} before listening (binary: ${pictorBin()})`)
      }),
    ])
    lines.on('line', () => {}) // keep draining stdout
    const started = JSON.parse(first)
    this.url = started.listen
    this.adminKey = (await readFile(started.admin_key_file, 'utf8')).trim()
    this.admin = this.client(this.adminKey)
    for (let i = 0; ; i++) {
      try {
        await this.admin.health()
        break
      } catch (error) {
        if (i > 100) throw error
        await sleep(50)
      }
    }
  }

  /** A client of this network with `apiKey` and no retries (tests assert first answers). */
  client(apiKey, options = {}) {
    return new Client({ endpoint: this.url, apiKey, maxRetries: 0, ...options })
  }

  /** A creator account with `credits` deposited (none when `'0'`). */
  async createCreator(name, credits) {
    const created = await this.admin.createAccount('creator', name)
    if (credits !== '0') await this.admin.deposit(created.account.id, credits)
    return created
  }

  async startWorker(name) {
    const created = await this.admin.createAccount('worker', name)
    const config = join(this.dir, `${name}.toml`)
    await promisify(execFile)(
      pictorBin(),
      ['worker', 'init', '--network', this.url, '--name', name, '--price', '2', '--out', config],
      { env: { ...process.env, PICTOR_API_KEY: created.apiKey } },
    )
    this.#spawn(name, ['worker', 'run', '--poll-secs', '0.2', '--config', config])
  }

  async startChecker() {
    const created = await this.admin.createAccount('checker', 'node-checker')
    this.#spawn(
      'checker',
      ['checker', 'run', '--poll-secs', '0.2', '--network', this.url, '--cache-dir', join(this.dir, 'checker-cache')],
      { PICTOR_API_KEY: created.apiKey },
    )
  }

  /** Uploads the demo scene as the creator. */
  async uploadScene(client = this.creator) {
    const asset = await client.uploadFolder(this.sceneDir, 'scene.toml')
    return asset.id
  }

  /** Waits (up to 30 s) until a quote succeeds, i.e. a worker is online. */
  async waitForWorkers(spec) {
    for (let i = 0; ; i++) {
      try {
        return await this.creator.quote(spec)
      } catch (error) {
        if (!(error instanceof InfeasibleError) || i > 300) throw error
        await sleep(100)
      }
    }
  }

  /** Submits `spec`, waiting (up to 30 s) for a worker to come online first. */
  async submit(spec, client = this.creator) {
    for (let i = 0; ; i++) {
      try {
        return await client.submit(spec)
      } catch (error) {
        if (!(error instanceof InfeasibleError) || i > 300) throw error
        await sleep(100)
      }
    }
  }

  async stop() {
    await Promise.all(this.children.map(stopChild))
    await rm(this.dir, { recursive: true, force: true })
  }
}
