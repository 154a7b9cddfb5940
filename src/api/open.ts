/**
 * Bytes of an encrypted file -> decrypted document, for the library and the Terraform command:
 * pipeline/open.ts's open(), plus the library's data-key reuse and file reading.
 */
import { readFile } from 'node:fs/promises'
import { NoFileError, ReadError } from '../core/errors.js'
import type { Metadata } from '../core/metadata.js'
import type { FormatName } from '../formats/format.js'
import { open, parseSealed, type OpenedFile } from '../pipeline/open.js'
import type { KeyContext } from '../keys/types.js'

export interface OpenOptions {
  ctx: KeyContext
  ignoreMac?: boolean
  decryptionOrder?: readonly string[]
  /**
   * A data key already recovered for this file's key groups (see keyGroupsSignature): used
   * instead of asking any master key. The MAC is still verified with it.
   */
  knownDataKey?: (metadata: Metadata) => Uint8Array | undefined
}

export interface Opened extends OpenedFile {
  /** Whether the data key came from `knownDataKey` (no master key was asked). */
  reusedDataKey: boolean
}

export async function openEncrypted(bytes: Uint8Array, format: FormatName, options: OpenOptions): Promise<Opened> {
  const sealed = await parseSealed(bytes, format)
  const known = options.knownDataKey?.(sealed.metadata)
  const opened = await open(sealed, format, {
    ctx: options.ctx,
    dataKey: known,
    keepIvs: false, // the library hands out values; it never re-encrypts them
    ignoreMac: options.ignoreMac,
    decryptionOrder: options.decryptionOrder,
  })
  return Object.assign(opened, { reusedDataKey: known !== undefined })
}

/**
 * Two files whose key groups (every `enc`, recipient and threshold) are identical share one data
 * key: sops keeps the data key across edits, so an edited file re-opens without an unwrap.
 */
export function keyGroupsSignature(metadata: Metadata): string {
  return JSON.stringify([metadata.shamirThreshold, metadata.keyGroups])
}

/** Read a whole file with sops's error classes (exit 100 for a missing file, 2 otherwise). */
export async function readEncryptedFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch (err) {
    throw fileError(file, err)
  }
}

export function fileError(file: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return new NoFileError(`Error: cannot operate on non-existent file "${file}"`)
  if (code === 'EISDIR') return new ReadError(`Error reading file: ${file} is a directory`)
  return new ReadError(`Error reading file ${file}: ${code ?? 'I/O error'}`)
}
