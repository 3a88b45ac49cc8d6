// A review-tool style report, in TypeScript: the creator's recent jobs with exact money, and a live
// view of the running ones that gives up after a time limit (AbortSignal.timeout).
// Type-checked in CI (`tsc --noEmit -p examples/node`); run it with a TS runner such as `tsx`.
import {
  Client,
  NotFoundError,
  PictorError,
  type Job,
  type JobEvent,
  type Money,
} from '@pictor/sdk'

const client = new Client({
  endpoint: process.env.PICTOR_NETWORK ?? 'http://127.0.0.1:7878',
  apiKey: process.env.PICTOR_API_KEY,
  timeoutMs: 10_000,
})

/** Exact sum of amounts: BigInt over micro-credits, never floats. */
function total(amounts: Money[]): bigint {
  return amounts.reduce((sum, money) => sum + BigInt(money.micros), 0n)
}

function describe(event: JobEvent): string {
  switch (event.kind) {
    case 'task_accepted':
      return `accepted frames ${String(event.data.frames)}`
    case 'completed':
    case 'failed':
    case 'cancelled':
      return event.kind.toUpperCase()
    default:
      return event.kind
  }
}

async function followFor(job: Job, ms: number): Promise<void> {
  try {
    for await (const event of client.watch(job.id, { signal: AbortSignal.timeout(ms) })) {
      console.log(`  #${job.id} ${event.seq}: ${describe(event)}`)
    }
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError') {
      console.log(`  #${job.id}: still ${job.state} after ${ms} ms`)
    } else {
      throw error
    }
  }
}

async function main(): Promise<number> {
  const me = await client.account()
  console.log(`${me.name} (${me.role}): balance ${me.balance.formatted} cr`)
  const recent: Job[] = []
  for await (const job of client.listJobs({ pageSize: 20 })) {
    recent.push(job)
    if (recent.length === 20) break
  }
  for (const job of recent) {
    console.log(`#${job.id} ${job.state.padEnd(9)} ${job.tasksAccepted}/${job.tasksTotal} tasks, spent ${job.spent.formatted} cr`)
  }
  const spent = total(recent.map((job) => job.spent))
  console.log(`spent on these jobs: ${spent} µcr`)
  for (const job of recent.filter((j) => j.state === 'running' || j.state === 'queued')) {
    await followFor(job, 5_000)
  }
  return 0
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    if (error instanceof NotFoundError) console.error(`not found [request ${error.requestId}]`)
    else if (error instanceof PictorError) console.error(`${error.name} (${error.code}): ${error.message}`)
    else console.error(error)
    process.exitCode = 2
  },
)
