// The package's entry points: ESM and CommonJS expose the very same objects, resolved through the
// package's own `exports` map; the client never shows its API key.
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { inspect } from 'node:util'
import { test } from 'node:test'

import * as esm from '@pictor/sdk'
import defaultExport from '@pictor/sdk'

const require = createRequire(import.meta.url)
const cjs = require('@pictor/sdk')
const pkg = require('../package.json')

const NAMES = [
  'Client',
  'PictorError',
  'AuthError',
  'NotFoundError',
  'InsufficientFundsError',
  'ValidationError',
  'ConflictError',
  'InfeasibleError',
  'RateLimitError',
  'NetworkError',
  'FileError',
  'IntegrityError',
  'FINAL_EVENT_KINDS',
  'nativeVersion',
]

test('import and require give the same classes, so instanceof holds across both', () => {
  for (const name of NAMES) {
    assert.ok(esm[name] !== undefined, `ESM exports ${name}`)
    assert.equal(esm[name], cjs[name], `${name} is one object`)
    assert.equal(defaultExport[name], cjs[name])
  }
  const error = new cjs.NotFoundError('gone', { code: 'not_found', status: 404, requestId: 'r-1' })
  assert.ok(error instanceof esm.PictorError)
  assert.ok(error instanceof esm.NotFoundError)
  assert.equal(error.name, 'NotFoundError')
  assert.equal(error.requestId, 'r-1')
  for (const name of NAMES.filter((n) => n.endsWith('Error') && n !== 'PictorError')) {
    assert.equal(Object.getPrototypeOf(esm[name].prototype), esm.PictorError.prototype, `${name} extends PictorError`)
  }
  assert.deepEqual([...esm.FINAL_EVENT_KINDS], ['completed', 'failed', 'cancelled'])
})

test('the native addon is the package version', () => {
  assert.equal(esm.nativeVersion(), pkg.version)
})

test('a client never shows its API key', () => {
  const key = 'pk_secret_never_shown_0123456789'
  const client = new esm.Client({ endpoint: 'http://127.0.0.1:7878/', apiKey: key })
  assert.equal(client.endpoint, 'http://127.0.0.1:7878/')
  assert.ok(!inspect(client, { showHidden: true, depth: 5 }).includes(key))
  assert.ok(!JSON.stringify(client).includes(key))
  assert.ok(!String(client).includes(key))
})

test('bad options are ValidationErrors before any request', () => {
  for (const [options, field] of [
    [{ endpoint: 'not a url' }, 'endpoint'],
    [{ endpoint: 42 }, 'endpoint'],
    [{ endpoint: 'http://x', apiKey: 'has space' }, 'apiKey'],
  ]) {
    assert.throws(
      () => new esm.Client(options),
      (error) => error instanceof esm.ValidationError && error.field === field,
      JSON.stringify(options),
    )
  }
  assert.throws(() => new esm.Client(), esm.ValidationError)
})
