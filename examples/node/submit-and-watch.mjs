#!/usr/bin/env node
// A pipeline tool: upload a scene folder, quote, submit, follow the job with progress lines, download
// the frames. Exits 0 when the job completes, 1 when it fails or is cancelled, 2 on any other error,
// 130 on Ctrl-C (the job keeps running on the network; follow it again with `pictor job watch`).
//
//   export PICTOR_NETWORK=http://127.0.0.1:7878 PICTOR_API_KEY=pk_...   # a creator's key
//   node examples/node/submit-and-watch.mjs examples/scenes/demo --frames 1-24 --out frames/
import { parseArgs } from 'node:util'
import { Client, PictorError, ValidationError } from '@pictor/sdk'

const usage = `usage: submit-and-watch.mjs SCENE_FOLDER [--main scene.toml] [--frames 1-24]
       [--width 640 --height 360] [--samples 64] [--format png|png16|exr] [--tier standard]
       [--budget CREDITS] [--out DIR]   (env: PICTOR_NETWORK, PICTOR_API_KEY)`

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    main: { type: 'string', default: 'scene.toml' },
    frames: { type: 'string', default: '1' },
    width: { type: 'string' },
    height: { type: 'string' },
    samples: { type: 'string' },
    format: { type: 'string' },
    tier: { type: 'string' },
    budget: { type: 'string' },
    out: { type: 'string' },
  },
})
if (positionals.length !== 1 || !process.env.PICTOR_NETWORK) {
  console.error(usage)
  process.exit(2)
}
const [folder] = positionals
const number = (text) => (text === undefined ? undefined : Number(text))

const client = new Client({ endpoint: process.env.PICTOR_NETWORK, apiKey: process.env.PICTOR_API_KEY })

// Ctrl-C stops following (the abort ends the `for await` at once); the job itself goes on.
const stop = new AbortController()
process.once('SIGINT', () => stop.abort())

async function main() {
  let lastPercent = -1
  const asset = await client.uploadFolder(folder, opts.main, {
    onProgress: ({ bytesDone, bytesTotal }) => {
      const percent = bytesTotal === 0 ? 100 : Math.floor((100 * bytesDone) / bytesTotal)
      if (percent !== lastPercent && (percent % 10 === 0 || percent === 100)) {
        console.log(`upload ${percent}% (${bytesDone}/${bytesTotal} bytes)`)
        lastPercent = percent
      }
    },
  })
  console.log(`scene ${asset.id} (${asset.files} files, ${asset.stats.bytesSent} bytes sent)`)

  const spec = {
    scene: asset.id,
    frames: opts.frames,
    width: number(opts.width),
    height: number(opts.height),
    samples: number(opts.samples),
    output: opts.format,
    tier: opts.tier,
    budgetCap: opts.budget,
  }
  const quote = await client.quote(spec)
  console.log(`quote: P50 ${quote.costP50.formatted} cr, P90 ${quote.costP90.formatted} cr, ETA ${quote.etaP90Secs.toFixed(0)} s (P90)`)
  const job = await client.submit(spec)
  console.log(`job ${job.id} submitted: ${job.tasksTotal} tasks, ${job.escrow.formatted} cr in escrow`)

  let accepted = 0
  let final = 'unknown'
  for await (const event of client.watch(job.id, { signal: stop.signal })) {
    switch (event.kind) {
      case 'task_accepted':
        accepted++
        console.log(`frames ${event.data.frames} accepted (${accepted}/${job.tasksTotal} tasks)`)
        break
      case 'task_rejected':
        console.log(`task ${event.data.task} rejected by the checker: re-queued`)
        break
      case 'paused':
        console.log(`paused (${event.data.reason})`)
        break
      case 'completed':
      case 'failed':
      case 'cancelled':
        final = event.kind
        break
    }
  }
  const done = await client.getJob(job.id)
  console.log(`job ${job.id} ${final}: spent ${done.spent.formatted} cr`)
  if (final !== 'completed') return 1
  if (opts.out) {
    const frames = await client.downloadFrames(job.id, opts.out)
    console.log(`${frames.length} frames in ${opts.out}`)
  }
  return 0
}

try {
  process.exitCode = await main()
} catch (error) {
  if (stop.signal.aborted) {
    console.error('stopped following the job (it keeps running)')
    process.exitCode = 130
  } else if (error instanceof PictorError) {
    const where = error instanceof ValidationError && error.field ? ` (field ${error.field})` : ''
    const request = error.requestId ? ` [request ${error.requestId}]` : ''
    console.error(`error: ${error.name} ${error.code}${where}: ${error.message}${request}`)
    process.exitCode = 2
  } else {
    console.error(error)
    process.exitCode = 2
  }
}
