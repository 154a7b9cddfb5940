/**
 * The dotenv store (sops `stores/dotenv/store.go`, spec §5.4). Deliberately naive, like sops:
 * no trimming, quoting or `export` handling, so `KEY = "v"` keeps every space and quote. The
 * only escape is the two characters `\n` for a newline. Metadata lives in `sops_*` keys,
 * flattened (spec §5.6).
 */
import { Comment, TreeMap, TreeSeq, typeName, type MapItem, type Value } from '../core/tree.js'
import { EmitError, FormatError } from '../core/errors.js'
import type { Document, Format } from './format.js'
import { flatten, unflatten } from './flatten.js'
import { valToString } from './valtostring.js'

/** Prefix of every metadata key in a dotenv file (sops `stores.SopsPrefix`). */
export const SOPS_PREFIX = 'sops_'

function decode(bytes: Uint8Array): string {
  try {
    // ignoreBOM keeps a BOM as part of the first key, as sops (which never strips it) does.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    throw new FormatError('Could not read dotenv file: invalid UTF-8')
  }
}

/** One line: a comment (`#` at column 0) or `KEY=VALUE` split on the first `=`. */
function parseLine(line: string, lineNo: number): MapItem {
  if (line.startsWith('#')) return new Comment(line.slice(1))
  const eq = line.indexOf('=')
  // The line is not echoed: a line without `=` may well be a pasted secret.
  if (eq === -1) throw new FormatError("invalid dotenv input line: missing '='", lineNo)
  return { key: line.slice(0, eq), value: line.slice(eq + 1).replaceAll('\\n', '\n') }
}

function parseItems(text: string): MapItem[] {
  const items: MapItem[] = []
  text.split('\n').forEach((line, i) => {
    if (line !== '') items.push(parseLine(line, i + 1))
  })
  return items
}

/** Move every `sops_*` entry into the metadata (prefix stripped, unflattened), like sops's ExtractMetadata. */
function extractMetadata(items: MapItem[]): { data: MapItem[]; metadata: TreeMap | undefined } {
  const data: MapItem[] = []
  const meta: { key: string; value: Value }[] = []
  for (const item of items) {
    if (!(item instanceof Comment) && item.key.startsWith(SOPS_PREFIX)) meta.push({ key: item.key.slice(SOPS_PREFIX.length), value: item.value })
    else data.push(item)
  }
  return { data, metadata: meta.length > 0 ? unflatten(meta) : undefined }
}

function parse(bytes: Uint8Array): Document {
  const { data, metadata } = extractMetadata(parseItems(decode(bytes)))
  return { branches: [new TreeMap(data)], metadata }
}

function emitItem(item: MapItem): string {
  if (item instanceof Comment) return `#${item.text}\n`
  const { key, value } = item
  if (value instanceof TreeMap || value instanceof TreeSeq) {
    throw new EmitError(`cannot use complex value in dotenv file; offending key ${key}`)
  }
  const text = typeof value === 'string' ? value.replaceAll('\n', '\\n') : valToString(value)
  return `${key}=${text}\n`
}

/**
 * A binary file's bytes (decrypt --output-type dotenv): sops writes them as they are, newlines
 * escaped like a string's, so bytes that are not UTF-8 survive.
 */
function emitBytesItem(key: string, bytes: Uint8Array): Buffer {
  const escaped = Buffer.from(Buffer.from(bytes).toString('latin1').replaceAll('\n', '\\n'), 'latin1')
  return Buffer.concat([Buffer.from(`${key}=`, 'utf8'), escaped, Buffer.from('\n')])
}

/** The data items followed by the flattened `sops_*` metadata (sops's SerializeMetadata order). */
function itemsToWrite(doc: Document): MapItem[] {
  const data = doc.branches[0]?.items ?? []
  if (!doc.metadata) return data
  for (const item of data) {
    if (!(item instanceof Comment) && item.key.startsWith(SOPS_PREFIX)) {
      throw new EmitError(`Found key ${JSON.stringify(item.key)} in encrypted data, which starts with the reserved key prefix "${SOPS_PREFIX}" for SOPS metadata`)
    }
  }
  return [...data, ...flatten(doc.metadata, SOPS_PREFIX)]
}

function emit(doc: Document): Uint8Array {
  const items = itemsToWrite(doc)
  if (!items.some((i) => !(i instanceof Comment) && i.value instanceof Uint8Array)) return new TextEncoder().encode(items.map(emitItem).join(''))
  return Buffer.concat(items.map((i) => (!(i instanceof Comment) && i.value instanceof Uint8Array ? emitBytesItem(i.key, i.value) : Buffer.from(emitItem(i), 'utf8'))))
}

/** `--extract` of a non-map value: sops's dotenv store can only print strings. */
function emitValue(value: Value): Uint8Array {
  if (typeof value === 'string') return new TextEncoder().encode(value)
  throw new EmitError(`the dotenv store only supports emitting strings, got ${typeName(value)}`)
}

function hasMetadataKey(doc: Document): boolean {
  if (doc.metadata) return true
  return doc.branches.some((b) => b.entries().some((e) => e.key.startsWith(SOPS_PREFIX)))
}

export const dotenvFormat: Format = {
  name: 'dotenv',
  capabilities: { rawStrings: false, comments: true, multipleDocuments: false, encryptionRules: true, example: 'flat-tree' },
  extensions: ['.env'],
  parse,
  emit,
  emitValue,
  hasMetadataKey,
}
