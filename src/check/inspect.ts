/**
 * One file's verdict under the selection policy (selection.ts): a file that must be encrypted is
 * checked whatever it holds; any other file only when it turns out to carry sops metadata.
 */
import type { FormatName } from '../formats/format.js'
import { detectFormat } from '../formats/registry.js'
import { checkBytes, checkDocument, loadCheckFormat, parseForCheck, type VerifyOptions } from './checker.js'
import { hasTsopsConflict } from './markers.js'
import { mayCarrySopsMetadata } from './selection.js'
import type { FileReport } from './types.js'

export interface InspectOptions {
  format?: FormatName
  verify?: VerifyOptions
}

/** The report for a checked file; undefined when the file is not a sops file and need not be. */
export async function inspectFile(bytes: Uint8Array, file: string, mustBeEncrypted: boolean, options: InspectOptions = {}): Promise<FileReport | undefined> {
  if (mustBeEncrypted) return checkBytes(bytes, file, options)
  if (hasTsopsConflict(bytes)) return checkBytes(bytes, file, options)
  if (!mayCarrySopsMetadata(bytes)) return undefined
  const name = options.format ?? detectFormat(file)
  const parser = await loadCheckFormat(name)
  const { doc } = parseForCheck(bytes, parser, name)
  // Unparseable or without metadata: a document that merely mentions sops (docs, examples).
  if (!doc || doc.metadata === undefined) return undefined
  const problems = checkDocument(doc)
  if (problems.length === 0 && options.verify) return checkBytes(bytes, file, options)
  return { file, format: name, ok: problems.length === 0, problems }
}
