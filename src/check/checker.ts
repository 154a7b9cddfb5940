/**
 * The keyless checker: is this file a well-formed sops file whose values are encrypted as its
 * own rules (spec §3, from its metadata) require? No key is needed, so it runs in git hooks and
 * CI; with keys, `verify` also decrypts and checks the MAC.
 *
 * What is checked (spec §1.3, §1.5, §5.7):
 *  - the metadata parses as sops would read it (readMetadata), has a MAC in ENC[…] form, and
 *    every master key entry carries an `enc`;
 *  - every leaf the rules select is "" (sops leaves empty strings clear) or a structurally
 *    valid ENC[AES256_GCM,…]: standard base64, 32-byte iv, 16-byte tag, a known type;
 *  - every comment the rules select is encrypted too.
 */
import { IV_SIZE, TAG_SIZE, isEncryptedValue, parseEncrypted } from '../core/cipher.js'
import { FormatError, TsopsError } from '../core/errors.js'
import { readMetadata, type Metadata } from '../keys/metadata.js'
import { LeafSelector } from '../core/rules.js'
import { Comment } from '../core/tree.js'
import { visitLeaves } from '../core/walk.js'
import type { Document, Format, FormatName } from '../formats/format.js'
import { parseShowingWhere } from '../formats/excerpt.js'
import { detectFormat, loadEncryptedParser, loadFormat } from '../formats/registry.js'
import { open, sealedDocument } from '../pipeline/open.js'
import type { KeyContext } from '../keys/types.js'
import { hasTsopsConflict } from './markers.js'
import { mayCarrySopsMetadata } from './selection.js'
import type { FileReport, Problem } from './types.js'

/** The `type:` tags sops writes or reads (spec §1.4). */
const SOPS_TYPES = new Set(['str', 'int', 'float', 'bool', 'time', 'comment', 'bytes'])
/** Formats that encrypt source spellings (TOML) carry their own tags; accept any tag-shaped name for them. */
const FORMAT_TYPE_RE = /^[a-z][a-z0-9-]{0,31}$/

export interface VerifyOptions {
  ctx: KeyContext
  decryptionOrder?: readonly string[]
}

export interface CheckOptions {
  /** Default: detected from the file name. */
  format?: FormatName
  /** Decrypt with these keys and verify the MAC as well. */
  verify?: VerifyOptions
}

const notEncrypted = (): Problem => ({ kind: 'not-encrypted', message: 'is not encrypted (no sops metadata)' })

interface LoadedFormat {
  format: Format
  parseEncrypted: (bytes: Uint8Array) => Document
}

const loaded = new Map<FormatName, Promise<LoadedFormat>>()

/** Each format's modules once per process: a pre-commit run checks hundreds of files. */
export function loadCheckFormat(name: FormatName): Promise<LoadedFormat> {
  let entry = loaded.get(name)
  if (!entry) {
    entry = Promise.all([loadFormat(name), loadEncryptedParser(name)]).then(([format, parseEncrypted]) => ({ format, parseEncrypted }))
    loaded.set(name, entry)
  }
  return entry
}

/** The error's first line, with its hint (where sops's words leave out the field or position). */
function reason(err: unknown): string {
  if (!(err instanceof TsopsError)) return 'unexpected error'
  const first = err.message.split('\n')[0]!
  return err.hint ? `${first} (${err.hint})` : first
}

/**
 * Why the bytes do not parse. A syntax error is reported by position only: some parser messages
 * quote the offending scalar, and in a plaintext file that may be a secret.
 */
function parseFailure(err: unknown): string {
  if (err instanceof FormatError) {
    return err.line === undefined ? 'syntax error' : `syntax error at line ${err.line}${err.column === undefined ? '' : `, column ${err.column}`}`
  }
  return reason(err)
}

/** Parse as an encrypted file; `undefined` with a problem when the bytes are not one. */
export function parseForCheck(bytes: Uint8Array, parser: LoadedFormat, name: FormatName): { doc?: Document; problem?: Problem } {
  try {
    return { doc: parseShowingWhere(bytes, () => parser.parseEncrypted(bytes)) }
  } catch (err) {
    const excerpt = err instanceof FormatError ? err.excerpt : undefined
    return { problem: { kind: 'unreadable', message: `cannot be read as an encrypted ${name} file: ${parseFailure(err)}`, ...(excerpt === undefined ? {} : { excerpt }) } }
  }
}

/** Check bytes that must be an encrypted file. */
export async function checkBytes(bytes: Uint8Array, file: string, options: CheckOptions = {}): Promise<FileReport> {
  const name = options.format ?? detectFormat(file)
  const report = (problems: Problem[]): FileReport => ({ file, format: name, ok: problems.length === 0, problems })
  if (hasTsopsConflict(bytes)) {
    return report([{ kind: 'merge-conflict', message: 'holds an unresolved tsops merge conflict' }])
  }
  const parser = await loadCheckFormat(name)
  const { doc, problem } = parseForCheck(bytes, parser, name)
  // Bytes that do not parse and show no trace of sops are a plaintext file (a PEM key, a
  // half-written YAML), not a damaged encrypted one.
  if (!doc) return report([mayCarrySopsMetadata(bytes) ? problem! : notEncrypted()])
  const problems = checkDocument(doc)
  if (problems.length === 0 && options.verify) problems.push(...(await verifyDocument(doc, parser.format, options.verify)))
  return report(problems)
}

/** The keyless checks on a parsed encrypted document (does not modify it). */
export function checkDocument(doc: Document): Problem[] {
  if (doc.metadata === undefined) return [notEncrypted()]
  let metadata: Metadata
  let selector: LeafSelector
  try {
    metadata = readMetadata(doc.metadata)
    selector = new LeafSelector(metadata.rules)
  } catch (err) {
    return [{ kind: 'invalid-metadata', message: `has invalid sops metadata: ${reason(err)}` }]
  }
  const metaProblems = checkMetadata(metadata)
  if (metaProblems.length > 0) return metaProblems
  return checkLeaves(doc, selector)
}

function checkMetadata(metadata: Metadata): Problem[] {
  const problems: Problem[] = []
  if (metadata.mac === '') problems.push({ kind: 'invalid-metadata', message: 'has invalid sops metadata: no MAC' })
  else {
    const bad = encryptedStructureProblem(metadata.mac, () => true)
    if (bad) problems.push({ kind: 'invalid-metadata', message: `has invalid sops metadata: the MAC is not a valid ENC[…] value (${bad})` })
  }
  metadata.keyGroups.forEach((group, g) =>
    group.forEach((entry, k) => {
      const enc = entry.fields.enc
      if (typeof enc !== 'string' || enc.trim() === '') {
        problems.push({ kind: 'invalid-metadata', message: `has invalid sops metadata: ${entry.type} key ${k + 1} of key group ${g + 1} has no enc` })
      }
    }),
  )
  return problems
}

/** Why an ENC[…] string is malformed, or undefined when it is well-formed. */
export function encryptedStructureProblem(value: string, knownType: (type: string) => boolean): string | undefined {
  let parts
  try {
    parts = parseEncrypted(value)
  } catch (err) {
    return reason(err)
  }
  if (parts.iv.length !== IV_SIZE) return `iv is ${parts.iv.length} bytes, expected ${IV_SIZE}`
  if (parts.tag.length !== TAG_SIZE) return `tag is ${parts.tag.length} bytes, expected ${TAG_SIZE}`
  if (!knownType(parts.type)) return 'unknown type'
  return undefined
}

function isKnownType(type: string): boolean {
  return SOPS_TYPES.has(type) || FORMAT_TYPE_RE.test(type)
}

function displayPath(path: readonly string[]): string {
  return path.length === 0 ? '(top level)' : path.join('.')
}

/** One problem per (kind, path): every element of a list shares its path (spec §2). */
class ProblemSet {
  private readonly byKey = new Map<string, Problem>()
  add(problem: Problem): void {
    const key = `${problem.kind}\u0000${problem.path ?? ''}`
    const existing = this.byKey.get(key)
    if (existing) existing.count = (existing.count ?? 1) + 1
    else this.byKey.set(key, problem)
  }
  list(): Problem[] {
    return [...this.byKey.values()]
  }
}

function checkLeaves(doc: Document, selector: LeafSelector): Problem[] {
  const problems = new ProblemSet()
  visitLeaves(doc.branches, (leaf, path, _stack, encrypted) => {
    const isComment = leaf instanceof Comment
    if (!encrypted) return
    const where = displayPath(path)
    if (isComment) {
      if (leaf.text === '') return
      if (!isEncryptedValue(leaf.text)) {
        problems.add({ kind: 'plaintext-comment', path: where, message: `${path.length ? `a comment in ${where}` : 'a top-level comment'} is not encrypted` })
        return
      }
      const bad = encryptedStructureProblem(leaf.text, isKnownType)
      if (bad) problems.add({ kind: 'malformed-value', path: where, message: `a comment in ${where} is not a valid ENC[…] value (${bad})` })
      return
    }
    if (leaf === '') return
    if (!isEncryptedValue(leaf)) {
      problems.add({ kind: 'plaintext-value', path: where, message: `${where} is not encrypted` })
      return
    }
    const bad = encryptedStructureProblem(leaf, isKnownType)
    if (bad) problems.add({ kind: 'malformed-value', path: where, message: `${where} is not a valid ENC[…] value (${bad})` })
  }, selector)
  return problems.list()
}

/** With keys: decrypt and verify the MAC. `doc` is still as parsed: the keyless walk changes nothing. */
async function verifyDocument(doc: Document, format: Format, verify: VerifyOptions): Promise<Problem[]> {
  try {
    const opened = await open(sealedDocument(doc), format.name, { ctx: verify.ctx, decryptionOrder: verify.decryptionOrder, keepIvs: false })
    opened.close()
    return []
  } catch (err) {
    return [{ kind: 'mac', message: `does not decrypt and verify: ${reason(err)}` }]
  }
}
