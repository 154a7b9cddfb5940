/**
 * PGP key source (spec §6.2) through the gpg binary, like sops's fallback path: gpg-agent,
 * smartcards and modern keyrings all work, and no OpenPGP code is loaded into the process.
 *
 * `enc` is an ASCII-armored OpenPGP message of the raw data key (or Shamir share), whitespace-
 * trimmed (no trailing newline). gpg honours GNUPGHOME from the environment, which is ctx.env.
 */
import { spawn } from 'node:child_process'
import { GenericError } from '../core/errors.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry, type KeySource } from './types.js'

/** Decryption may wait on a pinentry prompt or a smartcard PIN; bounded so nothing hangs forever. */
const GPG_TIMEOUT_MS = 180_000

export function pgpKeySource(fingerprint: string): KeySource {
  // sops's NewMasterKeyFromFingerprint: spaces removed, case preserved.
  const fp = fingerprint.replace(/ /g, '')
  return {
    type: 'pgp',
    id: fp,
    wrap: (part, ctx) => wrap(fp, part, ctx),
    unwrap: (entry, ctx) => unwrap(fp, entry, ctx),
  }
}

export function fromEntry(entry: KeyEntry): KeySource {
  const fp = entry.fields.fp
  return pgpKeySource(typeof fp === 'string' ? fp : '')
}

export function fromSpec(spec: string): KeySource {
  return pgpKeySource(spec.trim())
}

async function wrap(fp: string, part: Uint8Array, ctx: KeyContext): Promise<KeyEntry> {
  // The exact argument list sops uses for its gpg-binary encryption (plus --batch: never prompt).
  const args = ['--batch', '--no-default-recipient', '--yes', '--encrypt', '-a', '-r', fp, '--trusted-key', fp.slice(-16), '--no-encrypt-to']
  const res = await runGpg(args, part, ctx)
  const enc = res.stdout.toString('utf8').trim()
  if (res.code !== 0 || enc === '') {
    throw new GenericError(`failed to encrypt sops data key with pgp: ${summarizeStderr(res)}`)
  }
  return { type: 'pgp', fields: { created_at: rfc3339UtcNow(), enc, fp } }
}

async function unwrap(fp: string, entry: KeyEntry, ctx: KeyContext): Promise<Uint8Array> {
  const fail = (reason: string) => new KeyUnwrapError('pgp', fp, reason)
  const enc = entry.fields.enc
  if (typeof enc !== 'string' || enc === '') throw fail('no encrypted data key (enc) in the metadata')
  let res: GpgResult
  try {
    res = await runGpg(['--batch', '--quiet', '-d'], Buffer.from(enc, 'utf8'), ctx)
  } catch (e) {
    throw fail(`could not decrypt data key with PGP key: ${e instanceof Error ? e.message : String(e)}`)
  }
  if (res.code !== 0) {
    res.stdout.fill(0) // partial output must not linger
    throw fail(`could not decrypt data key with PGP key: GnuPG binary error: ${summarizeStderr(res)}`)
  }
  if (res.stdout.length === 0) throw fail('could not decrypt data key with PGP key: GnuPG binary error: zero bytes returned')
  const key = new Uint8Array(res.stdout)
  res.stdout.fill(0)
  return key
}

interface GpgResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: Buffer
  stderr: string
}

/** Spawn gpg (or SOPS_GPG_EXEC) with ctx.env, feed stdin, collect output; rejects only on spawn/abort/timeout. */
function runGpg(args: string[], input: Uint8Array, ctx: KeyContext): Promise<GpgResult> {
  const binary = ctx.env.SOPS_GPG_EXEC || 'gpg'
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      env: definedEnv(ctx.env),
      signal: ctx.signal,
      timeout: GPG_TIMEOUT_MS,
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.on('error', (e: NodeJS.ErrnoException) => {
      for (const b of out) b.fill(0)
      if (e.name === 'AbortError') return reject(e)
      reject(new Error(e.code === 'ENOENT' ? `${binary} not found (install GnuPG or set SOPS_GPG_EXEC)` : `failed to run ${binary}: ${e.message}`))
    })
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out)
      for (const b of out) b.fill(0)
      if (signal === 'SIGTERM' && code === null && !ctx.signal?.aborted) {
        stdout.fill(0)
        return reject(new Error(`${binary} was terminated (time limit ${GPG_TIMEOUT_MS / 1000}s)`))
      }
      resolve({ code, signal, stdout, stderr: Buffer.concat(err).toString('utf8') })
    })
    // EPIPE if gpg exits before reading everything; the exit status tells the real story.
    child.stdin.on('error', () => {})
    child.stdin.end(input)
  })
}

/**
 * gpg's stderr reduced to its last one or two meaningful lines (the "decryption failed: No secret
 * key" kind). Key listings such as "encrypted with rsa2048 key, ID …" are context, not the error.
 */
function summarizeStderr(res: GpgResult): string {
  const lines = res.stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^(gpg: )?(encrypted with|WARNING: unsafe)/.test(l) && !l.startsWith('"'))
  const tail = lines.slice(-2).join('; ')
  const status = res.code === null ? `killed by ${res.signal ?? 'signal'}` : `exit status ${res.code}`
  return tail === '' ? status : `${tail} (${status})`
}

function rfc3339UtcNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function definedEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v
  return out
}
