/**
 * Binary files in bounded memory. The general pipeline holds a binary file's plaintext, its
 * ciphertext, the 90 MB `ENC[…]` string and the emitted file at once (6-7x a 64 MiB file); here
 * the base64 and AES-GCM work is done in blocks:
 *   - encrypt: the plaintext (read whole) is encrypted block by block and the output file is
 *     produced as chunks (envelope head, base64 blocks, envelope tail) for the writer;
 *   - decrypt: the encrypted file is read in blocks from disk (never whole) straight into one
 *     plaintext buffer, authenticated (GCM tag, then the MAC) before anyone sees it.
 * The bytes written are exactly those of the general path (same envelope emitter, same value
 * layout); anything unusual falls back to it, so unusual files behave exactly as before.
 */
import fs from 'node:fs'
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto'
import { DATA_KEY_SIZE, IV_SIZE, matchEncrypted, strictBase64, TAG_SIZE, ValueCipher } from '../core/cipher.js'
import { EncryptTreeError } from '../core/errors.js'
import { metadataTree, readMetadata, type Metadata } from '../keys/metadata.js'
import { LeafSelector } from '../core/rules.js'
import { TreeMap } from '../core/tree.js'
import { aadFor, computeMac, verifyMac } from '../core/walk.js'
import { DATA_KEY, ENC_DATA_PREFIX, encryptedBinaryFrame, locateBinaryPayload, parseEncryptedBinary, type ReadAt } from '../formats/binary.js'
import type { Document, EmitOptions, Format } from '../formats/format.js'
import { wrapDataKey } from '../keys/datakey.js'
import { decryptStoredMac, openDocument, recoverDataKey, type DecryptOptions } from './decrypt.js'
import { withDataKey } from './open.js'
import { assertEncryptable, effectiveRules, sealMetadata, type EncryptOptions } from './encrypt.js'

/**
 * Plaintext bytes per block: a multiple of 3, so every block's base64 is whole (no padding
 * inside). Small blocks keep each block's garbage in V8's young generation, collected at once;
 * megabyte blocks piled up as external memory and cost more than the copies they saved.
 */
const PLAIN_BLOCK = 48 << 10
/** Base64 characters per block read back: a multiple of 4. */
const BASE64_BLOCK = 64 << 10
const DATA_AAD = Buffer.from(aadFor([DATA_KEY]), 'utf8')

/** The plaintext of a parsed binary document, when it is the usual single non-empty `data` value. */
function binaryPayload(doc: Document): Uint8Array | undefined {
  const entries = doc.branches.length === 1 ? doc.branches[0]!.entries() : []
  const value = entries.length === 1 && entries[0]!.key === DATA_KEY ? entries[0]!.value : undefined
  return value instanceof Uint8Array && value.length > 0 ? value : undefined
}

/**
 * Encrypt a parsed plaintext binary document (a new data key) to the chunks of the encrypted
 * file, for a writer that takes chunks. Undefined when the general path must do it (an empty
 * file, whose `data` stays "").
 */
export async function encryptBinaryChunks(format: Format, doc: Document, options: EncryptOptions, emitOptions?: EmitOptions): Promise<Iterable<Uint8Array> | undefined> {
  const plaintext = binaryPayload(doc)
  if (plaintext === undefined) return undefined
  assertEncryptable(format, doc)
  return withDataKey(randomBytes(DATA_KEY_SIZE), async (dataKey) => {
    const wrapped = await wrapDataKey(dataKey, options.keyGroups, options.shamirThreshold ?? 0, options.ctx)
    const rules = effectiveRules(format, options.rules ?? {})
    const mac = computeMac(doc.branches, new LeafSelector(rules))
    const metadata = sealMetadata(new ValueCipher(dataKey), mac, { keyGroups: wrapped.groups, shamirThreshold: wrapped.threshold, rules, now: options.now })
    // A KeyObject copies the key, so the raw bytes can be zeroed before the chunks are produced.
    return encryptedChunks(plaintext, createSecretKey(dataKey), metadataTree(metadata), emitOptions)
  })
}

function* encryptedChunks(plaintext: Uint8Array, key: KeyObject, metadata: TreeMap, emitOptions?: EmitOptions): Generator<Uint8Array> {
  const iv = randomBytes(IV_SIZE)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(DATA_AAD)
  // The head does not depend on the IV and tag (they come after the payload): take it from a frame with them empty.
  const head = encryptedBinaryFrame(',iv:,tag:,type:str]', metadata, emitOptions).head
  yield head
  let carry = Buffer.alloc(0)
  for (let off = 0; off < plaintext.length; off += PLAIN_BLOCK) {
    const ciphertext = cipher.update(plaintext.subarray(off, off + PLAIN_BLOCK))
    const bytes = carry.length === 0 ? ciphertext : Buffer.concat([carry, ciphertext])
    const whole = bytes.length - (bytes.length % 3)
    carry = Buffer.from(bytes.subarray(whole))
    yield Buffer.from(bytes.subarray(0, whole).toString('base64'), 'latin1')
  }
  const rest = cipher.final()
  const last = Buffer.concat([carry, rest])
  if (last.length > 0) yield Buffer.from(last.toString('base64'), 'latin1')
  const frame = encryptedBinaryFrame(`,iv:${iv.toString('base64')},tag:${cipher.getAuthTag().toString('base64')},type:str]`, metadata, emitOptions)
  if (!frame.head.equals(head)) throw new EncryptTreeError('the binary envelope changed while it was written')
  yield frame.tail
}

/** What the skeleton of an encrypted binary file says about its one value. */
interface StreamPlan {
  doc: Document
  metadata: Metadata
  iv: Buffer
  tag: Buffer
}

/**
 * Decrypt an encrypted binary file to its plaintext bytes, reading it in blocks (the plaintext
 * is the only whole copy held). Undefined when the file is not the usual layout (or is not a
 * readable regular file): the caller then takes the general path, which reports any problem
 * exactly as before. One data-key unwrap either way.
 */
export async function decryptBinaryFile(file: string, options: DecryptOptions): Promise<Uint8Array | undefined> {
  let fd: number
  try {
    fd = fs.openSync(file, 'r')
  } catch {
    return undefined
  }
  try {
    const stat = fs.fstatSync(fd)
    if (!stat.isFile()) return undefined
    const read = readerOf(fd)
    const payload = locateBinaryPayload(read, stat.size)
    const plan = payload && planStream(payload.skeleton)
    if (!payload || !plan) return undefined
    const { metadata, dataKey } = await recoverDataKey(plan.doc, options)
    return await withDataKey(dataKey, () => {
      const plaintext = decryptPayload(read, payload.start, payload.end, dataKey, plan)
      // A value that does not open: the general path, with the key already recovered, says why in sops's words.
      if (plaintext === undefined) return binaryPlaintext(openDocument(parseEncryptedBinary(fs.readFileSync(file)), metadata, dataKey, options).doc)
      const tree = new TreeMap([{ key: DATA_KEY, value: plaintext }])
      const computed = computeMac([tree], new LeafSelector(metadata.rules))
      if (!options.ignoreMac) verifyMac(decryptStoredMac(new ValueCipher(dataKey), metadata), computed)
      return plaintext
    })
  } finally {
    fs.closeSync(fd)
  }
}

function binaryPlaintext(doc: Document): Uint8Array {
  const value = doc.branches[0]?.entry(DATA_KEY)?.value
  return value instanceof Uint8Array ? value : Buffer.from(typeof value === 'string' ? value : '', 'utf8')
}

function readerOf(fd: number): ReadAt {
  return (position, length, into) => {
    const buf = into ?? Buffer.allocUnsafe(length)
    let got = 0
    while (got < length) {
      const n = fs.readSync(fd, buf, got, length - got, position + got)
      if (n === 0) break
      got += n
    }
    return buf.subarray(0, got)
  }
}

/** The skeleton parsed and checked: one `data` value, of type str, encrypted under the rules. */
function planStream(skeleton: Buffer): StreamPlan | undefined {
  let doc: Document
  let metadata: Metadata
  try {
    doc = parseEncryptedBinary(skeleton)
    metadata = readMetadata(doc.metadata)
  } catch {
    return undefined
  }
  const entries = doc.branches.length === 1 ? doc.branches[0]!.entries() : []
  const value = entries.length === 1 && entries[0]!.key === DATA_KEY ? entries[0]!.value : undefined
  if (typeof value !== 'string' || !value.startsWith(`${ENC_DATA_PREFIX},iv:`)) return undefined
  // sops's greedy match, with a one-character stand-in for the payload: it must be the data part.
  const parts = matchEncrypted(`${ENC_DATA_PREFIX}A${value.slice(ENC_DATA_PREFIX.length)}`)
  if (!parts || parts[0] !== 'A' || parts[3] !== 'str') return undefined
  if (!new LeafSelector(metadata.rules).shouldEncrypt([DATA_KEY], [], false)) return undefined
  try {
    const iv = strictBase64(parts[1], 'iv')
    const tag = strictBase64(parts[2], 'tag')
    return iv.length > 0 && tag.length === TAG_SIZE ? { doc, metadata, iv, tag } : undefined
  } catch {
    return undefined
  }
}

/** Base64-decode and AES-GCM-decrypt [start, end) block by block; undefined if it does not authenticate. */
function decryptPayload(read: ReadAt, start: number, end: number, dataKey: Uint8Array, plan: StreamPlan): Buffer | undefined {
  const last = read(end - 2, 2).toString('latin1')
  const length = ((end - start) / 4) * 3 - (last === '==' ? 2 : last.endsWith('=') ? 1 : 0)
  const plaintext = Buffer.allocUnsafe(length)
  const opened = decryptInto(plaintext, read, start, end, dataKey, plan)
  if (!opened) plaintext.fill(0) // nothing unauthenticated is kept
  return opened ? plaintext : undefined
}

function decryptInto(plaintext: Buffer, read: ReadAt, start: number, end: number, dataKey: Uint8Array, plan: StreamPlan): boolean {
  try {
    const decipher = createDecipheriv('aes-256-gcm', createSecretKey(dataKey), plan.iv)
    decipher.setAAD(DATA_AAD)
    decipher.setAuthTag(plan.tag)
    let written = 0
    const block = Buffer.allocUnsafe(BASE64_BLOCK)
    const ciphertext = Buffer.allocUnsafe((BASE64_BLOCK / 4) * 3)
    for (let pos = start; pos < end; pos += BASE64_BLOCK) {
      const text = read(pos, Math.min(BASE64_BLOCK, end - pos), block).toString('latin1')
      const decoded = ciphertext.write(text, 'base64')
      // Node skips what is not base64 where Go fails: a short block is such a file.
      if (decoded !== (text.length / 4) * 3 - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0)) return false
      written += decipher.update(ciphertext.subarray(0, decoded)).copy(plaintext, written)
    }
    written += decipher.final().copy(plaintext, written)
    return written === plaintext.length
  } catch {
    return false
  }
}
