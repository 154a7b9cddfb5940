/**
 * C2SP's age test vectors (CCTV, https://github.com/C2SP/CCTV/tree/main/age), run as typage's
 * testkit runs them: every vector is decrypted and the outcome must be the one it names
 * (`success` with the payload's SHA-256, `no match`, `HMAC failure`, `header failure`,
 * `payload failure`, `armor failure`).
 *
 * Three passes:
 *   - native: src/keys/age-x25519.ts (decryptX25519 over age-format.ts's armor reader and
 *     header parser) for every vector whose identities are all X25519, outcome by outcome;
 *   - tsops: the age key source's unwrap (native first, typage for what native hands on:
 *     grease stanzas, post-quantum hybrid identities), the way a sops file's `enc` is opened;
 *   - header: age-format.ts's parser accepts the header of every vector that is not a header
 *     or armor failure, scrypt ones included (tsops never decrypts with a passphrase);
 *   - words: where the native code fails, its error is the real age v1.3.1's on the same file
 *     (sops prints it in its "Group 0: FAILED" block).
 *
 * The vectors come from the Go module c2sp.org/CCTV/age, which scripts/install-test-tools.sh
 * downloads into the tools cache; this tier (like the real sops it also needs) requires it.
 */
import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { fromEntry } from '../../src/keys/age.js'
import { parseAgeFile, readArmor } from '../../src/keys/age-format.js'
import { armor, decryptX25519, parseX25519Identity, type NativeResult } from '../../src/keys/age-x25519.js'
import { KeyUnwrapError, type KeyContext } from '../../src/keys/types.js'
import { tempWorkspace } from '../helpers/workspace.js'
import { realAge, toolsDir } from '../sops/harness.js'

/** Pinned in scripts/install-test-tools.sh. */
const CCTV_AGE_VERSION = 'v0.0.0-20251208015420-e9274a7bdbfd'

type Outcome = 'success' | 'no match' | 'HMAC failure' | 'header failure' | 'payload failure' | 'armor failure'

interface Vector {
  name: string
  expect: Outcome
  /** SHA-256 (hex) of the plaintext a success yields. */
  payload?: string
  identities: string[]
  passphrases: string[]
  armored: boolean
  /** The age file (decompressed). */
  file: Buffer
}

function vectorsDir(): string {
  const candidates = [process.env.TSOPS_CCTV_AGE_DIR, path.join(toolsDir(), `cctv-age-${CCTV_AGE_VERSION}`, 'testdata')].filter((d): d is string => Boolean(d))
  const found = candidates.find((d) => fs.existsSync(path.join(d, 'x25519')))
  if (!found) throw new Error(`the age test vectors (c2sp.org/CCTV/age ${CCTV_AGE_VERSION}) are missing: run scripts/install-test-tools.sh (looked in ${candidates.join(', ')})`)
  return found
}

/** A vector file: `key: value` lines, an empty line, then the age file (zlib-compressed when it says so). */
function parseVector(name: string, bytes: Buffer): Vector {
  const split = bytes.indexOf('\n\n')
  const fields = bytes.subarray(0, split).toString('latin1').split('\n').map((line) => {
    const at = line.indexOf(': ')
    return [line.slice(0, at), line.slice(at + 2)] as const
  })
  const all = (key: string) => fields.filter(([k]) => k === key).map(([, v]) => v)
  const one = (key: string) => all(key)[0]
  const body = bytes.subarray(split + 2)
  return {
    name,
    expect: one('expect') as Outcome,
    ...(one('payload') === undefined ? {} : { payload: one('payload') }),
    identities: all('identity'),
    passphrases: all('passphrase'),
    armored: one('armored') === 'yes',
    file: one('compressed') === 'zlib' ? zlib.inflateSync(body) : body,
  }
}

const dir = vectorsDir()
const VECTORS = fs
  .readdirSync(dir)
  .sort()
  .map((name) => parseVector(name, fs.readFileSync(path.join(dir, name))))
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

/** Which outcome a native result is, in the vectors' terms. */
function outcomeOf(result: NativeResult, v: Vector): Outcome | 'unsupported' {
  switch (result.status) {
    case 'ok':
      expect(sha256(result.plaintext), `${v.name}: payload`).toBe(v.payload)
      return 'success'
    case 'no-match':
      return 'no match'
    case 'unsupported':
      return 'unsupported'
    case 'error':
      if (/invalid armor/.test(result.error)) return 'armor failure'
      if (result.error === 'bad header MAC') return 'HMAC failure'
      // A file that fails after its header (and its file key) decrypted is a payload failure.
      if (result.stage === 'copy') return 'payload failure'
      return 'header failure'
  }
}

const x25519Only = (v: Vector) => v.passphrases.length === 0 && v.identities.length > 0 && v.identities.every((i) => i.startsWith('AGE-SECRET-KEY-1'))

describe(`C2SP CCTV age vectors (${CCTV_AGE_VERSION})`, () => {
  it('are all there', () => {
    expect(VECTORS.length).toBeGreaterThanOrEqual(140)
    expect(VECTORS.filter(x25519Only).length).toBeGreaterThanOrEqual(90)
  })

  describe('native X25519 (age-x25519.ts, age-format.ts)', () => {
    it.each(VECTORS.filter(x25519Only).map((v) => [v.name, v] as const))('%s', (_name, v) => {
      const identities = v.identities.map((i) => parseX25519Identity(i)!)
      const input = v.armored ? readArmor(v.file) : v.file
      const outcome = outcomeOf(decryptX25519(input, identities), v)
      // Files with other stanza types (grease, scrypt beside X25519) are handed on to typage:
      // the tsops pass below checks those.
      if (outcome === 'unsupported') {
        const header = parseAgeFile(input)
        expect(header.ok && header.header.stanzas.some((s) => s.type !== 'X25519'), `${v.name}: unsupported without a foreign stanza`).toBe(true)
        return
      }
      expect(outcome).toBe(v.expect)
    })
  })

  describe('tsops age key source (native, then typage)', () => {
    const withIdentities = VECTORS.filter((v) => v.passphrases.length === 0 && v.identities.length > 0)
    it.each(withIdentities.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
      // A sops file keeps the age file armored in `enc`.
      const enc = v.armored ? v.file.toString('latin1') : armor(v.file)
      const entry = { type: 'age' as const, fields: { recipient: 'age1cctv', enc } }
      const ctx: KeyContext = { env: {}, envOnly: true, ageIdentities: v.identities }
      const result = await fromEntry(entry)
        .unwrap(entry, ctx)
        .then(
          (plaintext) => ({ ok: true as const, plaintext }),
          (e: unknown) => ({ ok: false as const, e }),
        )
      if (v.expect === 'success') {
        expect(result.ok ? sha256(result.plaintext) : String((result as { e: unknown }).e)).toBe(v.payload)
        return
      }
      expect(result.ok, `${v.name} must fail (${v.expect})`).toBe(false)
      const e = (result as { e: unknown }).e
      expect(e).toBeInstanceOf(KeyUnwrapError)
      const reason = (e as KeyUnwrapError).reason
      if (v.expect === 'no match') expect(reason).toMatch(/did not match any of the recipients|no identity matched/)
      else expect(reason).not.toMatch(/did not match any of the recipients|no identity matched/)
    })
  })

  describe('header parser (age-format.ts), every vector past its header', () => {
    const pastHeader = VECTORS.filter((v) => v.expect !== 'header failure' && v.expect !== 'armor failure')
    it.each(pastHeader.map((v) => [v.name, v] as const))('%s', (_name, v) => {
      const parsed = parseAgeFile(v.armored ? readArmor(v.file) : v.file)
      expect(parsed.ok ? 'parsed' : parsed.error).toBe('parsed')
    })
  })

  describe('error words (the real age v1.3.1 CLI on the same file)', () => {
    const { write } = tempWorkspace('tsops-cctv-')
    // Not armored (the CLI detects armor itself; sops always reads through the armor reader, as
    // the native pass does), and not header_crlf, which the CLI refuses before parsing
    // ("invalid header intro": its PowerShell check).
    const failing = VECTORS.filter((v) => x25519Only(v) && !v.armored && v.name !== 'header_crlf' && v.expect !== 'success' && v.expect !== 'no match')
    it.each(failing.map((v) => [v.name, v] as const))('%s', (_name, v) => {
      const result = decryptX25519(v.file, v.identities.map((i) => parseX25519Identity(i)!))
      expect(result.status).toBe('error')
      const keys = write(`${v.name}.key`, `${v.identities.join('\n')}\n`)
      const age = spawnSync(realAge(), ['-d', '-i', keys, write(`${v.name}.age`, v.file)], { encoding: 'utf8' })
      const words = age.stderr.split('\n').find((l) => l.startsWith('age: error: '))
      // age prints a note of ours on a line of its own.
      expect(`age: error: ${result.status === 'error' ? result.error.split('\n')[0] : ''}`).toBe(words)
    })
  })
})
