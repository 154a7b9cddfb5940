/**
 * Every fixture in fixtures/toml: parse -> encrypt (age) -> emit must be valid TOML that holds
 * no encrypted plaintext, and parse -> decrypt -> emit must give back the original bytes.
 * Tampering with a value, the MAC or lastmodified must make decryption fail.
 */
import { describe, expect, test } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parse as smolParse } from 'smol-toml'
import { Comment, Literal, type Scalar } from '../../src/core/tree.js'
import { isEncryptedValue } from '../../src/core/cipher.js'
import { SOPS_FORMAT_VERSION } from '../../src/core/metadata.js'
import { DecryptValueError, MacMismatchError, TsopsError } from '../../src/core/errors.js'
import { tomlFormat, type TomlOrigin } from '../../src/formats/toml.js'
import { flattenTree } from '../../src/formats/toml-splice.js'
import { encryptDocument } from '../../src/pipeline/encrypt.js'
import { open, sealedDocument } from '../../src/pipeline/open.js'
import { ageKeySource, generateAgeIdentity } from '../../src/keys/age.js'
import type { KeyContext } from '../../src/keys/types.js'
import { FIXTURES } from '../helpers/paths.js'

const DIR = path.join(FIXTURES, 'toml')
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.toml'))
  .sort()

const utf8 = (b: Uint8Array): string => new TextDecoder('utf-8', { ignoreBOM: true }).decode(b)
const withoutBom = (s: string): string => (s.startsWith('\uFEFF') ? s.slice(1) : s)

interface Encrypted {
  original: Uint8Array
  text: string
  ctx: KeyContext
  /** The original with every encrypted leaf replaced by `""` and encrypted comment by `#`. */
  blanked: string
  /** Spellings of the encrypted leaves and comments (length >= 4). */
  secrets: string[]
}

async function encryptFixture(file: string): Promise<Encrypted> {
  const original = new Uint8Array(readFileSync(path.join(DIR, file)))
  const { identity, recipient } = await generateAgeIdentity()
  const ctx: KeyContext = { env: {}, ageIdentities: [identity] }
  const doc = tomlFormat.parse(original)
  const origin = doc.origin as TomlOrigin
  const plainLeaves = flattenTree(doc.branches[0]!).leaves
  await encryptDocument(tomlFormat, doc, { keyGroups: [[ageKeySource(recipient)]], ctx })
  const text = utf8(tomlFormat.emit(doc))
  const encLeaves = flattenTree(doc.branches[0]!).leaves
  const source = origin.source!
  const edits: { start: number; end: number; text: string }[] = []
  const secrets: string[] = []
  encLeaves.forEach((leaf, i) => {
    const encrypted = leaf instanceof Comment ? isEncryptedValue(leaf.text) : isEncryptedValue(leaf)
    if (!encrypted) return
    const [start, end] = origin.slots[i]!.range
    edits.push({ start, end, text: leaf instanceof Comment ? '#' : '""' })
    secrets.push(...spellings(plainLeaves[i]!))
  })
  edits.sort((a, b) => b.start - a.start)
  let blanked = source
  for (const e of edits) blanked = blanked.slice(0, e.start) + e.text + blanked.slice(e.end)
  return { original, text, ctx, blanked, secrets: secrets.filter((s) => s.length >= 4) }
}

function spellings(leaf: Scalar | Comment): string[] {
  if (leaf instanceof Comment) return [leaf.text.trim()]
  if (leaf instanceof Literal) return [leaf.raw, String(leaf.value)]
  return [String(leaf)]
}

/** The document part of an encrypted file, with ciphertexts reduced to `""` and `#`. */
function strippedBody(text: string): string {
  const t = withoutBom(text)
  const cut = t.search(/^\[sops\]\r?$/m)
  expect(cut).toBeGreaterThanOrEqual(0)
  let body = t.slice(0, cut)
  body = body.endsWith('\r\n') ? body.slice(0, -2) : body.endsWith('\n') ? body.slice(0, -1) : body
  return body.replace(/"ENC\[AES256_GCM,[^\]]*\]"/g, '""').replace(/#ENC\[AES256_GCM,[^\]]*\]/g, '#')
}

function sopsTable(text: string): string {
  return text.slice(text.search(/^\[sops\]\r?$/m)).replace(/\r\n/g, '\n')
}

/** The `[sops]` table of a one-age-key file, once everything random is taken out. */
const EXPECTED_SOPS_TABLE = [
  '[sops]',
  'lastmodified = "DATE"',
  'mac = "ENC"',
  'unencrypted_suffix = "_unencrypted"',
  `version = "${SOPS_FORMAT_VERSION}"`,
  '',
  '[[sops.age]]',
  'enc = """',
  'AGE',
  '"""',
  'recipient = "age1"',
  '',
].join('\n')

/** Everything random in the metadata replaced by a placeholder. */
function scrub(text: string): string {
  return text
    .replace(/^lastmodified = "[^"]*"/m, 'lastmodified = "DATE"')
    .replace(/ENC\[AES256_GCM,[^\]]*\]/g, 'ENC')
    .replace(/-----BEGIN AGE ENCRYPTED FILE-----[\s\S]*?-----END AGE ENCRYPTED FILE-----/g, 'AGE')
    .replace(/age1[0-9a-z]+/g, 'age1')
}

async function decryptText(text: string, ctx: KeyContext): Promise<Uint8Array> {
  const doc = tomlFormat.parse(new TextEncoder().encode(text))
  await open(sealedDocument(doc), 'toml', { ctx })
  return tomlFormat.emit(doc)
}

async function rejection(p: Promise<unknown>): Promise<TsopsError> {
  try {
    await p
  } catch (err) {
    if (err instanceof TsopsError) return err
    throw err
  }
  throw new Error('expected decryption to fail')
}

/** Flip the first character of a base64 field (always a different, valid character). */
function flip(ch: string): string {
  return ch === 'A' ? 'B' : 'A'
}

test('there are at least 25 TOML fixtures', () => {
  expect(FILES.length).toBeGreaterThanOrEqual(25)
})

describe.each(FILES)('%s', (file) => {
  test('encrypts to valid TOML without plaintext and decrypts to the original bytes', async () => {
    const enc = await encryptFixture(file)
    // (a) valid TOML, by the strict parser too
    expect(() => smolParse(withoutBom(enc.text), { integersAsBigInt: true })).not.toThrow()
    // (b) the document around the ciphertexts is the original, minus every encrypted spelling
    expect(strippedBody(enc.text)).toBe(enc.blanked)
    const body = strippedBody(enc.text)
    for (const s of enc.secrets) if (!enc.blanked.includes(s)) expect(body, s).not.toContain(s)
    // …and the metadata holds nothing but keys, ciphertexts and the date
    expect(scrub(sopsTable(enc.text))).toBe(EXPECTED_SOPS_TABLE)
    // the encrypted file re-emits unchanged, and its metadata reads back as written
    const reparsed = tomlFormat.parse(new TextEncoder().encode(enc.text))
    expect(utf8(tomlFormat.emit(reparsed))).toBe(enc.text)
    expect(tomlFormat.hasMetadataKey(reparsed)).toBe(true)
    // (c) byte for byte
    const decrypted = await decryptText(enc.text, enc.ctx)
    expect(Buffer.from(decrypted).equals(Buffer.from(enc.original))).toBe(true)
  })

  test('tampering with a value, the mac or lastmodified fails decryption', async () => {
    const enc = await encryptFixture(file)
    const sops = enc.text.search(/^\[sops\]/m)
    const value = /ENC\[AES256_GCM,data:(.)[^\]]*,type:(?!comment)[^\]]*\]/.exec(enc.text.slice(0, sops))
    if (value) {
      const i = value.index + 'ENC[AES256_GCM,data:'.length
      const tampered = enc.text.slice(0, i) + flip(value[1]!) + enc.text.slice(i + 1)
      const err = await rejection(decryptText(tampered, enc.ctx))
      expect(err).toBeInstanceOf(DecryptValueError)
      expect(err.exitCode).toBe(25)
    } else {
      // Only files without a single encrypted value may skip this part.
      expect(['empty.toml', 'only-comments.toml']).toContain(file)
    }
    const mac = /^mac = "ENC\[AES256_GCM,data:(.)/m.exec(enc.text)!
    const at = mac.index + mac[0].length - 1
    const badMac = enc.text.slice(0, at) + flip(mac[1]!) + enc.text.slice(at + 1)
    const macErr = await rejection(decryptText(badMac, enc.ctx))
    expect(macErr).toBeInstanceOf(MacMismatchError)
    expect(macErr.exitCode).toBe(51)
    const badTime = enc.text.replace(/^lastmodified = "\d{4}/m, 'lastmodified = "2001')
    expect(badTime).not.toBe(enc.text)
    const timeErr = await rejection(decryptText(badTime, enc.ctx))
    expect(timeErr).toBeInstanceOf(MacMismatchError)
    expect(timeErr.exitCode).toBe(51)
  })
})
