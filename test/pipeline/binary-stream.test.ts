/**
 * Binary files in bounded memory (src/pipeline/binary-stream.ts): the streamed encrypt writes
 * exactly the bytes of the general path in small chunks, the streamed decrypt reads the file in
 * small blocks and opens whatever the general path writes, and anything it does not recognise or
 * cannot open goes back to the general path (same result, same error).
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { TreeMap } from '../../src/core/tree.js'
import { binaryFormat, parseEncryptedBinary } from '../../src/formats/binary.js'
import { encryptBinaryChunks, decryptBinaryFile } from '../../src/pipeline/binary-stream.js'
import { encryptDocument } from '../../src/pipeline/encrypt.js'
import { open, sealedDocument } from '../../src/pipeline/open.js'
import { ageKeySource } from '../../src/keys/age.js'
import type { KeyContext, KeySource } from '../../src/keys/types.js'
import { testAgeIdentity } from '../helpers/age.js'
import { tempWorkspace } from '../helpers/workspace.js'

let ctx: KeyContext
let keys: KeySource[][]
const { dir, write } = tempWorkspace('tsops-binstream-')
beforeAll(async () => {
  const { identity, recipient } = await testAgeIdentity()
  ctx = { env: {}, ageIdentities: [identity] }
  keys = [[ageKeySource(recipient)]]
})
afterEach(() => vi.restoreAllMocks())

// Around the 48 KiB plaintext blocks and 64 KiB base64 blocks, and every padding length.
const SIZES = [1, 2, 3, 4, 49151, 49152, 49153, 65536, 200_001]

async function streamedEncrypt(plaintext: Buffer, indent?: number): Promise<Buffer[]> {
  const chunks = await encryptBinaryChunks(binaryFormat, binaryFormat.parse(plaintext), { keyGroups: keys, ctx }, indent === undefined ? undefined : { indent })
  if (!chunks) throw new Error('expected the streamed path')
  return [...chunks].map((c) => Buffer.from(c))
}

/** The general (whole-file) path: what tsops wrote before streaming. */
async function generalEncrypt(plaintext: Buffer): Promise<Buffer> {
  const doc = binaryFormat.parse(plaintext)
  await encryptDocument(binaryFormat, doc, { keyGroups: keys, ctx })
  return Buffer.from(binaryFormat.emit(doc))
}

async function generalDecrypt(file: Buffer): Promise<Uint8Array> {
  const doc = parseEncryptedBinary(file)
  await open(sealedDocument(doc), 'binary', { ctx })
  return doc.branches[0]!.entry('data')!.value as Uint8Array
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a failure')
}

describe('streamed binary encrypt', () => {
  it.each(SIZES)('writes exactly the JSON store bytes, in small chunks (%i bytes)', async (size) => {
    const plaintext = randomBytes(size)
    for (const indent of [undefined, 4]) {
      const chunks = await streamedEncrypt(plaintext, indent)
      const file = Buffer.concat(chunks)
      // Re-emitting the parsed file through the general emitter gives the same bytes.
      expect(Buffer.from(binaryFormat.emit(parseEncryptedBinary(file), indent === undefined ? undefined : { indent })).equals(file)).toBe(true)
      expect(Buffer.from(await generalDecrypt(file)).equals(plaintext)).toBe(true)
      expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(64 << 10)
    }
  })

  it('leaves an empty file to the general path (its data stays "")', async () => {
    expect(await encryptBinaryChunks(binaryFormat, binaryFormat.parse(Buffer.alloc(0)), { keyGroups: keys, ctx })).toBeUndefined()
  })
})

describe('streamed binary decrypt', () => {
  it.each(SIZES)('opens what the general path writes, reading small blocks (%i bytes)', async (size) => {
    const plaintext = randomBytes(size)
    const file = write(`general-${size}.bin`, await generalEncrypt(plaintext))
    const reads = vi.spyOn(fs, 'readSync')
    const whole = vi.spyOn(fs, 'readFileSync')
    const result = await decryptBinaryFile(file, { ctx })
    expect(result && Buffer.from(result).equals(plaintext)).toBe(true)
    expect(reads).toHaveBeenCalled()
    expect(whole).not.toHaveBeenCalled()
    expect(Math.max(...reads.mock.calls.map((c) => (c as unknown[])[3] as number))).toBeLessThanOrEqual(64 << 10)
  })

  it('opens the compact layout too ({"data":"ENC[…"…})', async () => {
    const plaintext = randomBytes(1000)
    const compact = JSON.stringify(JSON.parse((await generalEncrypt(plaintext)).toString()))
    const result = await decryptBinaryFile(write('compact.bin', compact), { ctx })
    expect(result && Buffer.from(result).equals(plaintext)).toBe(true)
  })

  it('leaves other layouts and malformed payloads to the general path', async () => {
    const text = (await generalEncrypt(randomBytes(300))).toString()
    const parsed = JSON.parse(text) as { data: string; sops: unknown }
    const sopsFirst = JSON.stringify({ sops: parsed.sops, data: parsed.data })
    const innerPadding = text.replace(/data:(....)/, 'data:AA==')
    const escaped = text.replace(/data:(.)/, 'data:\\u0041')
    for (const [name, body] of Object.entries({ sopsFirst, innerPadding, escaped })) {
      expect(await decryptBinaryFile(write(`${name}.bin`, body), { ctx }), name).toBeUndefined()
    }
    expect(await decryptBinaryFile(path.join(dir, 'missing.bin'), { ctx })).toBeUndefined()
  })

  it('fails a tampered payload or MAC with the general path\'s error, unless the MAC is ignored', async () => {
    const bytes = await generalEncrypt(randomBytes(100_000))
    const text = bytes.toString()
    const at = text.indexOf('data:') + 1000
    const payload = Buffer.from(text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1))
    const macAt = text.indexOf('"mac": "ENC[AES256_GCM,data:') + 30
    const mac = Buffer.from(text.slice(0, macAt) + (text[macAt] === 'A' ? 'B' : 'A') + text.slice(macAt + 1))
    for (const [name, tampered] of Object.entries({ payload, mac })) {
      const streamed = await errorOf(decryptBinaryFile(write(`tampered-${name}.bin`, tampered), { ctx }))
      const general = await errorOf(generalDecrypt(tampered))
      expect(streamed.constructor, name).toBe(general.constructor)
      expect(streamed.message, name).toBe(general.message)
    }
    const wrongMac = await decryptBinaryFile(path.join(dir, 'tampered-mac.bin'), { ctx, ignoreMac: true })
    expect(wrongMac?.length).toBe(100_000)
  })

  it('decrypts a single value tree as binary output expects it', async () => {
    const plaintext = Buffer.from('Welcome to SOPS!\n')
    const file = write('welcome.bin', Buffer.concat(await streamedEncrypt(plaintext)))
    const result = await decryptBinaryFile(file, { ctx })
    expect(binaryFormat.emit({ branches: [new TreeMap([{ key: 'data', value: result! }])], metadata: undefined })).toEqual(plaintext)
  })
})
