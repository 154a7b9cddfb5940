/**
 * loadSecrets: decrypt a file once per process and serve it from memory while it is unchanged.
 *
 * Per absolute path the cache keeps the decrypted values and the file's data key. A call for an
 * unchanged file (same size, mtime, ctime, inode) costs one stat(): no read, no unwrap. A changed
 * file is re-read; when its key groups are unchanged (an edit keeps the data key, as `sops edit`
 * does) the cached data key opens it, so no KMS call, gpg prompt or key command runs either.
 * Keeping a data key in memory is the point of this cache: clearSecretsCache() zeroes them.
 */
import { open, stat } from 'node:fs/promises'
import path from 'node:path'
import type { FormatName } from '../formats/format.js'
import { resolveFormatName } from '../formats/registry.js'
import type { TreeMap } from '../core/tree.js'
import { decryptionOrderFor, keyContextFor, type KeyOptions } from './options.js'
import { fileError, keyGroupsSignature, openEncrypted } from './open.js'
import { zeroDataKeys } from '../pipeline/open.js'
import { toPlain, type PlainValue } from './values.js'

export interface LoadSecretsOptions extends KeyOptions {
  /** File format; detected from the file name when omitted. */
  format?: FormatName
  /** Skip MAC verification (not recommended). */
  ignoreMac?: boolean
}

/** What identifies one version of a file without reading it. */
interface Stamp {
  dev: bigint
  ino: bigint
  size: bigint
  mtimeNs: bigint
  ctimeNs: bigint
}

interface Entry {
  stamp: Stamp
  format: FormatName
  ignoreMac: boolean
  values: PlainValue
  dataKey: Uint8Array
  keysSignature: string
}

const entries = new Map<string, Entry>()
/** One load at a time per file (and format): concurrent callers at start-up share it. */
const loading = new Map<string, Promise<Entry>>()

function stampOf(st: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): Stamp {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs }
}

function sameStamp(a: Stamp, b: Stamp): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs
}

export function branchValue(branches: readonly TreeMap[]): PlainValue {
  if (branches.length === 1) return toPlain(branches[0]!)
  return branches.map((b) => toPlain(b))
}

export async function loadSecrets(file: string, options: LoadSecretsOptions = {}): Promise<PlainValue> {
  const abs = path.resolve(file)
  const format = resolveFormatName(options.format, abs)
  const ignoreMac = options.ignoreMac === true
  let current: Stamp
  try {
    current = stampOf(await stat(abs, { bigint: true }))
  } catch (err) {
    evict(abs) // a deleted file's key is not kept either
    throw fileError(file, err)
  }
  const cached = entries.get(abs)
  const fresh = cached && sameStamp(cached.stamp, current) && cached.format === format && cached.ignoreMac === ignoreMac
  const entry = fresh ? cached : await loadOnce(abs, file, format, ignoreMac, options)
  // Callers get their own copy: a mutation must not leak into the next caller's config.
  return structuredClone(entry.values)
}

function loadOnce(abs: string, file: string, format: FormatName, ignoreMac: boolean, options: KeyOptions): Promise<Entry> {
  const key = `${abs}\0${format}\0${ignoreMac}`
  let pending = loading.get(key)
  if (!pending) {
    pending = reload(abs, file, format, ignoreMac, options).finally(() => loading.delete(key))
    loading.set(key, pending)
  }
  return pending
}

async function reload(abs: string, file: string, format: FormatName, ignoreMac: boolean, options: KeyOptions): Promise<Entry> {
  const previous = entries.get(abs)
  try {
    // The stamp comes from the open handle, so it describes exactly the bytes that were read.
    const { bytes, stamp } = await readWithStamp(abs, file)
    const ctx = keyContextFor(options)
    const opened = await openEncrypted(bytes, format, {
      ctx,
      ignoreMac,
      decryptionOrder: decryptionOrderFor(options, ctx),
      knownDataKey: (metadata) => (previous?.keysSignature === keyGroupsSignature(metadata) ? previous.dataKey : undefined),
    })
    const entry: Entry = {
      stamp,
      format,
      ignoreMac,
      values: branchValue(opened.doc.branches),
      dataKey: opened.dataKey, // kept on purpose, never closed: replace() and evict() zero it
      keysSignature: keyGroupsSignature(opened.metadata),
    }
    replace(abs, entry)
    return entry
  } catch (err) {
    // A file that no longer decrypts must not keep being served, nor its key kept.
    evict(abs)
    throw err
  }
}

async function readWithStamp(abs: string, file: string): Promise<{ bytes: Buffer; stamp: Stamp }> {
  let handle
  try {
    handle = await open(abs, 'r')
    const st = await handle.stat({ bigint: true })
    return { bytes: await handle.readFile(), stamp: stampOf(st) }
  } catch (err) {
    throw fileError(file, err)
  } finally {
    await handle?.close()
  }
}

function replace(abs: string, entry: Entry): void {
  const old = entries.get(abs)
  entries.set(abs, entry)
  if (old && old.dataKey !== entry.dataKey) zeroDataKeys(old.dataKey)
}

function evict(abs: string): void {
  zeroDataKeys(entries.get(abs)?.dataKey)
  entries.delete(abs)
}

/** Forget one file (or every file) and zero the data keys held for it. */
export function clearSecretsCache(file?: string): void {
  if (file !== undefined) return evict(path.resolve(file))
  for (const abs of [...entries.keys()]) evict(abs)
}
