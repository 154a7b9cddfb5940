/**
 * PGP key source (spec §6.2) through the gpg binary, like sops's fallback path: gpg-agent,
 * smartcards and modern keyrings all work, and no OpenPGP code is loaded into the process.
 *
 * `enc` is an ASCII-armored OpenPGP message of the raw data key (or Shamir share), whitespace-
 * trimmed (no trailing newline). gpg honours GNUPGHOME from the environment, which is ctx.env.
 */
import { spawn } from 'node:child_process'
import { lstatSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { GenericError } from '../core/errors.js'
import { definedEnv } from '../core/env.js'
import { goErrnoText, goOpenError } from './go-text.js'
import { KeyUnwrapError, type KeyContext, type KeyEntry, type KeySource } from './types.js'

/** Decryption may wait on a pinentry prompt or a smartcard PIN; bounded so nothing hangs forever. */
const GPG_TIMEOUT_MS = 180_000

export function pgpKeySource(fingerprint: string): KeySource {
  // sops's NewMasterKeyFromFingerprint: spaces removed, case preserved.
  const fp = fingerprint.replace(/ /g, '')
  return {
    type: 'pgp',
    id: fp,
    keyFields: { fp },
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

const OPENPGP = 'github.com/ProtonMail/go-crypto/openpgp error'

/**
 * sops tries its Go OpenPGP library on the legacy keyrings (pubring.gpg / secring.gpg) first and
 * the gpg binary second, and a failure lists both. tsops always uses gpg; the first half of the
 * message is what the library says when those files are missing (modern GnuPG homes), so the
 * text is sops's. Where a legacy secret keyring exists tsops cannot know what the library would
 * say when decrypting, and only gpg's half is given.
 */
async function wrap(fp: string, part: Uint8Array, ctx: KeyContext): Promise<KeyEntry> {
  // sops's argument list for its gpg-binary encryption (plus --batch: never prompt).
  const args = ['--batch', '--no-default-recipient', '--yes', '--encrypt', '-a', '-r', fp, '--trusted-key', fp.slice(-16), '--no-encrypt-to']
  const res = await runGpg(args, part, ctx)
  const enc = res.stdout.toString('utf8').trim()
  if (res.code !== 0 || enc === '') {
    const why = res.code !== 0 ? res.stderr.trim() : `${ctx.env.SOPS_GPG_EXEC || 'gpg'} wrote no encrypted key`
    // retrievePubKey's words, whatever went wrong (had a legacy pubring held the key, sops would have used it).
    const openpgp = `${OPENPGP}: key with fingerprint '${fp}' is not available in keyring`
    throw new GenericError(`could not encrypt data key with PGP key: ${openpgp}; GnuPG binary error: failed to encrypt sops data key with pgp: ${why}`, { code: 'KEY_WRAP_FAILED' })
  }
  return { type: 'pgp', fields: { enc, fp } }
}

async function unwrap(fp: string, entry: KeyEntry, ctx: KeyContext): Promise<Uint8Array> {
  const fail = (gnupg: string) => {
    const openpgp = secRingProblem(ctx)
    const parts = [...(openpgp === undefined ? [] : [`${OPENPGP}: could not load secring: ${openpgp}`]), `GnuPG binary error: ${gnupg}`]
    return new KeyUnwrapError('pgp', fp, `could not decrypt data key with PGP key: ${parts.join('; ')}`)
  }
  const enc = entry.fields.enc
  let res: GpgResult
  try {
    // sops runs `gpg -d` and nothing else (its stderr, "encrypted with …" lines included, is the reason).
    res = await runGpg(['-d'], Buffer.from(typeof enc === 'string' ? enc : '', 'utf8'), ctx)
  } catch (e) {
    throw fail(e instanceof Error ? e.message : String(e))
  }
  if (res.code !== 0) {
    res.stdout.fill(0) // partial output must not linger
    throw fail(`failed to decrypt sops data key with pgp: ${res.stderr.trim()}`)
  }
  if (res.stdout.length === 0) throw fail('failed to decrypt sops data key with pgp: zero bytes returned')
  const key = new Uint8Array(res.stdout)
  res.stdout.fill(0)
  return key
}

/** sops's gnuPGHome: GNUPGHOME, else the account's home (from the user database, not $HOME) + .gnupg. */
function gnuPGHome(ctx: KeyContext): string {
  const dir = ctx.env.GNUPGHOME
  if (dir) return dir
  try {
    return path.join(os.userInfo().homedir, '.gnupg')
  } catch {
    return path.join(ctx.env.HOME ?? '', '.gnupg')
  }
}

function legacyRing(ctx: KeyContext, name: 'pubring.gpg' | 'secring.gpg'): { file: string; exists: boolean; error?: unknown } {
  const file = path.join(gnuPGHome(ctx), name)
  try {
    lstatSync(file)
    return { file, exists: true }
  } catch (error) {
    return { file, exists: false, error }
  }
}

/**
 * Why sops's getSecRing finds no ring, in Go's words (secring.gpg, else pubring.gpg); undefined
 * when a legacy ring exists (see wrap).
 */
function secRingProblem(ctx: KeyContext): string | undefined {
  const sec = legacyRing(ctx, 'secring.gpg')
  if (sec.exists) return undefined
  if ((sec.error as NodeJS.ErrnoException).code !== 'ENOENT') return `lstat ${sec.file}: ${goErrnoText(sec.error)}`
  const pub = legacyRing(ctx, 'pubring.gpg')
  if (pub.exists) return undefined
  return goOpenError(pub.file, pub.error)
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

