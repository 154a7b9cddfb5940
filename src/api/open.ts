/**
 * Bytes of an encrypted file -> decrypted document, for the library and the Terraform command.
 * The one place outside the CLI's decrypt that strings parse, data key and MAC check together.
 */
import { readFile } from 'node:fs/promises'
import { NoFileError, ReadError } from '../core/errors.js'
import { readMetadata, type Metadata } from '../keys/metadata.js'
import { loadEncryptedParser, loadFormat } from '../formats/registry.js'
import type { Document, FormatName } from '../formats/format.js'
import { openDocument, recoverDataKey } from '../pipeline/decrypt.js'
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

export interface Opened {
  /** The plaintext document (metadata stripped). */
  doc: Document
  metadata: Metadata
  /** The caller owns it: zero it when done unless it is kept on purpose. */
  dataKey: Uint8Array
  /** Whether the data key came from `knownDataKey` (no master key was asked). */
  reusedDataKey: boolean
}

export async function openEncrypted(bytes: Uint8Array, format: FormatName, options: OpenOptions): Promise<Opened> {
  const parse = await loadEncryptedParser(format)
  const doc = parse(bytes)
  const fmt = await loadFormat(format)
  const metadata = readMetadata(doc.metadata)
  const known = options.knownDataKey?.(metadata)
  // A copy: the caller may zero the key it handed over while we still hold ours.
  const dataKey = known ? Uint8Array.from(known) : (await recoverDataKey(doc, options)).dataKey
  try {
    openDocument(doc, metadata, dataKey, {
      keepIvs: false, // the library hands out values; it never re-encrypts them
      ignoreMac: options.ignoreMac,
      rawStrings: format === 'binary',
      decodeLiteral: fmt.decodeLiteral?.bind(fmt),
    })
  } catch (err) {
    dataKey.fill(0)
    throw err
  }
  return { doc, metadata, dataKey, reusedDataKey: known !== undefined }
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
