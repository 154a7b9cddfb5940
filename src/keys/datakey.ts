/**
 * Wrapping and unwrapping the data key with key groups (spec §6.0, §7).
 *
 * Encrypt: 1 group -> every key wraps the whole key; >=2 groups -> Shamir split, share i wrapped
 * by every key of group i, threshold defaulting to #groups (and persisted by the caller).
 * Decrypt: per group, keys are tried one at a time in decryption order and the first success
 * wins (a second key is never asked: it could mean another passphrase prompt or a cloud call).
 * Key services (ctx.keyServices, sops's --keyservice): each key is used through each service in
 * turn until one succeeds; without any, through this process alone (LOCAL_KEY_SERVICE).
 */
import { DataKeyError, GenericError, TsopsError, type GroupResult, type KeyAttempt } from '../core/errors.js'
import { goQuote } from './go-text.js'
import { nowRFC3339 } from '../core/gofmt.js'
import { DEFAULT_DECRYPTION_ORDER, keyIdOf, keyLabelOf, keyProvider, keySourceFromEntry, sortByDecryptionOrder } from './registry.js'
import { combine, split } from './shamir.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry, type KeyService, type KeySource } from './types.js'

export interface WrappedDataKey {
  groups: KeyEntry[][]
  /** The threshold to write into the metadata (0: leave it out, like sops's omitempty int). */
  threshold: number
}

export async function wrapDataKey(
  dataKey: Uint8Array,
  groups: readonly (readonly KeySource[])[],
  threshold: number,
  ctx: KeyContext,
): Promise<WrappedDataKey> {
  const services = keyServicesOf(ctx)
  // sops checks services and groups before any key is asked; these messages are sops's.
  if (services.length === 0) throw generateError(['no key services provided, cannot update master keys'])
  if (groups.length === 0) throw generateError(['no key groups provided'])
  if (groups.some((g) => g.length === 0)) throw generateError(['empty key group provided'])

  const shamir = groups.length > 1
  // With 1 group the threshold is meaningless but sops still writes it if it was set.
  const effectiveThreshold = shamir ? threshold || groups.length : threshold
  let parts: Uint8Array[]
  try {
    parts = shamir ? split(dataKey, groups.length, effectiveThreshold) : [dataKey]
  } catch (e) {
    throw generateError([`could not split data key into parts for Shamir: ${messageOf(e)}`])
  }

  try {
    // Every key wraps independently, so all of them run at once; all new entries share one creation time.
    const createdAt = nowRFC3339(ctx.now?.())
    const results = await Promise.all(groups.map((group, i) => Promise.all(group.map((key) => wrapOne(key, parts[i]!, services, ctx, createdAt)))))
    const failures = results.flat().flatMap((r) => ('errors' in r ? [r] : []))
    if (failures.length > 0) throw generateError(failures.flatMap((f) => f.errors), failures.flatMap((f) => f.hints))
    return {
      groups: results.map((g) => g.map((r) => ('entry' in r ? r.entry : unreachable()))),
      threshold: effectiveThreshold,
    }
  } finally {
    if (shamir) for (const p of parts) p.fill(0)
  }
}

/**
 * The key wraps through each service in turn until one succeeds; every failure is reported when
 * none does, with the hints its errors carried (no AWS credentials: where tsops looked).
 */
async function wrapOne(
  key: KeySource,
  part: Uint8Array,
  services: readonly KeyService[],
  ctx: KeyContext,
  createdAt: string,
): Promise<{ entry: KeyEntry } | { errors: string[]; hints: string[] }> {
  const errors: string[] = []
  const hints: string[] = []
  for (const service of services) {
    try {
      return { entry: withCreatedAt(await service.wrap(key, part, ctx), createdAt) }
    } catch (e) {
      if (ctx.signal?.aborted) throw e
      errors.push(`failed to encrypt new data key with master key ${goQuote(key.label ?? key.id)}: ${messageOf(e)}`)
      hints.push(...hintsOf(e))
    }
  }
  return { errors, hints }
}

/** This process's own keys: what sops calls the local key service. */
export const LOCAL_KEY_SERVICE: KeyService = {
  wrap: (key, part, ctx) => key.wrap(part, ctx),
  unwrap: (key, entry, ctx) => key.unwrap(entry, ctx),
}

function keyServicesOf(ctx: KeyContext): readonly KeyService[] {
  return ctx.keyServices ?? [LOCAL_KEY_SERVICE]
}

/** The entry stamped with its creation time (time.Now().UTC() in sops's key constructors), for the types that store one. */
function withCreatedAt(entry: KeyEntry, createdAt: string): KeyEntry {
  return keyProvider(entry.type).createdAt ? { ...entry, fields: { ...entry.fields, created_at: createdAt } } : entry
}

/**
 * sops prints the Go slice of errors: `[err1 err2]`. The keys' hints (printed by the `tsops`
 * persona only) follow, each once: two KMS keys without credentials share one.
 */
function generateError(errors: string[], hints: string[] = []): GenericError {
  const hint = joinHints(hints)
  return new GenericError(`Could not generate data key: [${errors.join(' ')}]`, { code: 'KEY_WRAP_FAILED', ...(hint === undefined ? {} : { hint }) })
}

function unreachable(): never {
  throw new Error('unreachable')
}

// ---------------------------------------------------------------------------------------------
// Unwrap

export type { GroupResult, KeyAttempt } from '../core/errors.js'

/** The DataKeyError of a failed unwrap: the message lists what `groups` holds as data. */
export class DataKeyUnavailableError extends DataKeyError {
  constructor(message: string, groups: readonly GroupResult[], required: number, hint?: string) {
    super(message, { groups, required }, hint === undefined ? {} : { hint })
  }
}

/** Maps a metadata entry to the source that can unwrap it (the registry; tests inject fakes). */
export type SourceResolver = (entry: KeyEntry) => Promise<KeySource>

/**
 * Recover the data key. The caller owns the returned buffer and should zero it when done.
 * Throws DataKeyUnavailableError (exit 128) listing every key tried and why it failed.
 */
export async function unwrapDataKey(
  groups: readonly (readonly KeyEntry[])[],
  threshold: number,
  ctx: KeyContext,
  order: readonly string[] = DEFAULT_DECRYPTION_ORDER,
  resolve: SourceResolver = keySourceFromEntry,
): Promise<Uint8Array> {
  if (groups.length === 0) throw new DataKeyError('Failed to get the data key required to decrypt the SOPS file: the metadata has no key groups')
  // Groups are independent, so they run in parallel; keys inside a group never do.
  const outcomes = await Promise.all(groups.map((g) => unwrapGroup(g, ctx, order, resolve)))
  const parts = outcomes.flatMap((o) => (o.part ? [o.part] : []))
  const results = outcomes.map((o) => o.result)
  // What the keys of the groups that failed said to do (set credentials…), for the tsops persona.
  const hints = outcomes.flatMap((o) => (o.part ? [] : o.hints))

  if (groups.length === 1) {
    const part = parts[0]
    if (part === undefined) throw await noKeyError(results, 0, ctx, hints)
    return part
  }
  // A hand-edited threshold of 0 still needs 2 parts: Combine cannot work with fewer.
  const required = Math.max(threshold, 2)
  try {
    if (parts.length < required) throw await noKeyError(results, required, ctx, hints)
    return combine(parts)
  } catch (e) {
    if (e instanceof DataKeyError) throw e
    throw new DataKeyError(`could not get data key from shamir parts: ${messageOf(e)}`, { groups: results, required })
  } finally {
    for (const p of parts) p.fill(0)
  }
}

async function unwrapGroup(
  entries: readonly KeyEntry[],
  ctx: KeyContext,
  order: readonly string[],
  resolve: SourceResolver,
): Promise<{ part?: Uint8Array; result: GroupResult; hints: string[] }> {
  const attempts: KeyAttempt[] = []
  const hints: string[] = []
  for (const entry of sortByDecryptionOrder(entries, order)) {
    ctx.signal?.throwIfAborted()
    const id = safeId(entry, keyIdOf)
    const label = safeId(entry, keyLabelOf)
    let reasons: string[]
    try {
      const outcome = await unwrapThroughServices(await resolve(entry), entry, ctx)
      if ('part' in outcome) {
        attempts.push({ type: entry.type, id, label })
        return { part: outcome.part, result: { ok: true, attempts }, hints }
      }
      reasons = outcome.reasons
      hints.push(...outcome.hints)
    } catch (e) {
      if (ctx.signal?.aborted) throw e
      reasons = [reasonOf(e)]
      hints.push(...hintsOf(e))
    }
    const reason = reasons[0]
    attempts.push({ type: entry.type, id, label, ...(reason === undefined ? {} : { reason }), ...(reasons.length === 1 ? {} : { reasons }) })
  }
  return { result: { ok: false, attempts }, hints }
}

/** Each service in turn until one recovers the part (sops's decryptKey); otherwise why each failed. */
async function unwrapThroughServices(source: KeySource, entry: KeyEntry, ctx: KeyContext): Promise<{ part: Uint8Array } | { reasons: string[]; hints: string[] }> {
  const reasons: string[] = []
  const hints: string[] = []
  for (const service of keyServicesOf(ctx)) {
    try {
      return { part: await service.unwrap(source, entry, ctx) }
    } catch (e) {
      if (ctx.signal?.aborted) throw e
      reasons.push(reasonOf(e))
      hints.push(...hintsOf(e))
    }
  }
  return { reasons, hints }
}

function reasonOf(e: unknown): string {
  return e instanceof KeyUnwrapError ? e.reason : messageOf(e)
}

/** The hint of a failed wrap or unwrap, if its error has one. */
function hintsOf(e: unknown): string[] {
  const hint = e instanceof KeyUnwrapError || e instanceof TsopsError ? e.hint : undefined
  return hint ? [hint] : []
}

function safeId(entry: KeyEntry, name: (entry: KeyEntry) => string): string {
  try {
    return name(entry)
  } catch {
    return `(${entry.type} key)`
  }
}

// ---------------------------------------------------------------------------------------------
// The "could not decrypt" message, shaped like sops's getDataKeyError.UserError (colourless)

async function noKeyError(results: readonly GroupResult[], required: number, ctx: KeyContext, keyHints: readonly string[]): Promise<DataKeyUnavailableError> {
  const ageFailed = results.some((g) => g.attempts.some((a) => a.type === 'age' && a.reason !== undefined))
  // Loaded only here: the hint needs the age module's locations, a failure path's cost.
  const ageHint = ageFailed ? (await import('./age-hint.js')).ageIdentityHint(results, ctx.env) : undefined
  return new DataKeyUnavailableError(formatNoKeyMessage(results, required), results, required, joinHints([...(ageHint ? [ageHint] : []), ...keyHints]))
}

/** Several keys' hints as one, each once (two KMS keys without credentials share one). */
function joinHints(hints: readonly string[]): string | undefined {
  const hint = [...new Set(hints)].join(' ')
  return hint === '' ? undefined : hint
}

export function formatNoKeyMessage(results: readonly GroupResult[], required: number): string {
  const groups = results.map((r, i) => formatGroup(r, i)).join('\n\n')
  const successes = results.filter((r) => r.ok).length
  const trailer =
    required === 0
      ? 'Recovery failed because no master key was able to decrypt the file. In order for SOPS to recover the file, ' +
        'at least one key has to be successful, but none were.'
      : `Recovery failed because the file was encrypted with a Shamir threshold of ${required}, but only ${successes} ` +
        'part(s) were successfully recovered, one for each successful key group. In order for SOPS to recover the ' +
        `file, at least ${required} groups have to be successful. In order for a group to be successful, decryption ` +
        'has to succeed with any of the keys in that key group.'
  return `Failed to get the data key required to decrypt the SOPS file.\n\n${groups}\n\n${wordWrap(trailer, 75)}`
}

function formatGroup(result: GroupResult, index: number): string {
  if (result.ok) return `Group ${index}: SUCCESS`
  const keys = result.attempts.map(formatKey).join('\n\n')
  return `Group ${index}: FAILED\n${prefixLines(keys, '  ')}`
}

/** sops's decryptKeyError: one `- | ` block per key service that failed (none when no service was asked). */
function formatKey(attempt: KeyAttempt): string {
  const reasons = attempt.reasons ?? [attempt.reason ?? 'unknown error']
  const blocks = reasons.map((r) => `-${prefixLines(wordWrap(r, 60), '  | ').slice(1)}`).join('\n\n')
  return `${attempt.label ?? attempt.id}: FAILED\n${blocks === '' ? '' : prefixLines(blocks, '  ')}`
}

/** goware/prefixer, as sops uses it: every line gets the prefix, empty ones too (not the empty tail after a final newline). */
function prefixLines(text: string, prefix: string): string {
  const lines = text.split('\n')
  const tail = lines.at(-1) === '' && lines.length > 1 ? lines.pop() : undefined
  return lines.map((l) => prefix + l).join('\n') + (tail === undefined ? '' : '\n')
}

/** unicode.IsSpace, without the no-break space (go-wordwrap keeps words joined by it). */
const GO_SPACE = /^[\t\n\v\f\r \u0085\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/

/**
 * mitchellh/go-wordwrap's WrapString: breaks at white space once a line would pass `width`
 * characters; a word longer than the limit stays whole; existing newlines are kept.
 */
export function wordWrap(text: string, width: number): string {
  let out = ''
  let current = 0
  let word = ''
  let space = ''
  const len = (s: string) => [...s].length
  for (const ch of text) {
    if (ch === '\n') {
      if (word === '') {
        if (current + len(space) <= width) out += space
      } else out += space + word
      out += ch
      current = 0
      word = ''
      space = ''
    } else if (GO_SPACE.test(ch)) {
      if (space === '' || word !== '') {
        current += len(space) + len(word)
        out += space + word
        space = ''
        word = ''
      }
      space += ch
    } else {
      word += ch
      if (current + len(word) + len(space) > width && len(word) < width) {
        out += '\n'
        current = 0
        space = ''
      }
    }
  }
  if (word === '') {
    if (current + len(space) <= width) out += space
  } else out += space + word
  return out
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}
