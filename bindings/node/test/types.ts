// Compile-time check (tsc --noEmit -p bindings/node): the hand-written index.d.ts and the generated
// native.d.ts describe objects with the same fields, so neither can drift from the other unnoticed.
import type * as native from '../native.js'
import type * as sdk from '../index.js'

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type SameKeys<A, B> = Same<keyof A, keyof B>

export const checks: [
  SameKeys<native.Money, sdk.Money>,
  SameKeys<native.ClientOptions, sdk.ClientOptions>,
  SameKeys<native.JobSpecInput, sdk.JobSpecInput>,
  SameKeys<native.JobSpecView, sdk.JobSpecView>,
  SameKeys<native.Quote, sdk.Quote>,
  SameKeys<native.TierQuote, sdk.TierQuote>,
  SameKeys<native.FeeSplit, sdk.Quote['feeSplitP90']>,
  SameKeys<native.Job, sdk.Job>,
  SameKeys<native.JobEvent, sdk.JobEvent>,
  SameKeys<native.UploadProgress, sdk.UploadProgress>,
  SameKeys<native.UploadStats, sdk.UploadStats>,
  SameKeys<native.UploadedAsset, sdk.UploadedAsset>,
  SameKeys<native.UploadedBlob, sdk.UploadedBlob>,
  SameKeys<native.Frame, sdk.Frame>,
  SameKeys<native.DownloadedFrame, sdk.DownloadedFrame>,
  SameKeys<native.Account, sdk.Account>,
  SameKeys<native.NewAccount, sdk.NewAccount>,
  // Every native method has its wrapper (`me` is `account` in JS).
  Same<Exclude<keyof native.NativeClient, 'me'> | 'account', keyof sdk.Client>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true]

// The wrapper's inputs are accepted by the native layer unchanged.
export function forwards(spec: sdk.JobSpecInput, options: sdk.ClientOptions): [native.JobSpecInput, native.ClientOptions] {
  return [spec, options]
}

// A job event is a union discriminated by `kind` (generated from pictor_core::api::JobEvent):
// checking the kind types the data, money inside `data` is a number of micro-credits.
export function describeEvent(event: sdk.JobEvent): string {
  switch (event.kind) {
    case 'task_accepted': {
      const frames: number[] = event.data.frames
      const costMicros: number = event.data.cost
      return `${frames.join(',')} for ${costMicros} µcr`
    }
    case 'paused': {
      const short: number | undefined = event.data.short
      return `${event.data.reason} ${short ?? 0}`
    }
    case 'task_expired': {
      const worker: number | null = event.data.worker
      return `${event.data.task} ${worker ?? '-'}`
    }
    default:
      return event.kind
  }
}

export function unnarrowed(event: sdk.JobEvent): unknown {
  // @ts-expect-error `data` has a kind's fields only once `kind` is checked
  return event.data.cost
}

// The final kinds are kinds of the vocabulary.
export const finalKindsAreKinds: (typeof sdk.FINAL_EVENT_KINDS)[number] extends sdk.JobEventKind ? true : false = true
