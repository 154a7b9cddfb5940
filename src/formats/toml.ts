/**
 * The TOML store — tsops's own (sops has none, getsops/sops#369): values are encrypted in
 * place and every byte around them survives, so a decrypted file equals the original file.
 *
 * parse: toml-eslint-parser gives an AST with ranges (smol-toml validates too: each parser
 * catches invalid input the other accepts). Every leaf becomes a Literal (typed value + exact
 * source spelling, toml-values.ts), comments become Comment items (placement rule in
 * toml-read.ts), and `origin` keeps the source plus the range of every leaf and comment in the
 * order the core walks them. A `[sops]` table that trails the document is the metadata; the
 * source kept is the text before it.
 *
 * emit: replacements are spliced into the source at the recorded ranges (toml-splice.ts); a
 * tree that no longer has the parsed shape, or no TOML origin, is written whole
 * (toml-write.ts). The metadata is appended as a `[sops]` table after one line break.
 *
 * docs/toml.md describes the mapping for users.
 */
import { ParseError, type AST } from 'toml-eslint-parser'
import { parseTomlAst } from './toml-ast.js'
import { parse as smolParse, TomlError } from 'smol-toml'
import { Comment, Literal, TreeMap, TreeSeq, type Value } from '../core/tree.js'
import { EmitError, FormatError, TsopsError } from '../core/errors.js'
import type { Document, Format } from './format.js'
import { TreeBuilder, type Range } from './toml-read.js'
import { restructure } from './toml-restructure.js'
import { flattenTree, splice, type Slot } from './toml-splice.js'
import { decodeTomlLiteral } from './toml-values.js'
import { writeDocument, writeTable, writeValue } from './toml-write.js'

const SOPS_KEY = 'sops'
const BOM = '\uFEFF'

/** What parse keeps for emit. A class, so emit can tell it from another format's origin. */
export class TomlOrigin {
  constructor(
    /** The document text without BOM and metadata; undefined when it cannot be spliced. */
    readonly source: string | undefined,
    readonly bom: boolean,
    /** flattenTree(root).shape at parse time. */
    readonly shape: string,
    /** One per leaf and comment, in walk order. */
    readonly slots: readonly Slot[],
  ) {}
}

// ---- parse ---------------------------------------------------------------------------------

function decode(bytes: Uint8Array): { text: string; bom: boolean } {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    throw new FormatError('Could not parse TOML: invalid UTF-8')
  }
  const bom = text.startsWith(BOM)
  return { text: bom ? text.slice(1) : text, bom }
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/^Invalid TOML document: /, '')
}

/** Both parsers must accept the text; errors become FormatError with a 1-based line and column. */
function parseProgram(text: string): AST.TOMLProgram {
  let program: AST.TOMLProgram
  try {
    // smol-toml first: its error positions point at the offending value, toml-eslint-parser's
    // sometimes at the next token (`b = ⏎` is reported on the line after).
    smolParse(text, { integersAsBigInt: true })
    // toml-eslint-parser 1.0.3 gives a lone `0` at the very end of the input an empty range;
    // a final line break (outside every range parse keeps) avoids that.
    program = parseTomlAst(text.endsWith('\n') ? text : text + '\n')
  } catch (err) {
    if (err instanceof ParseError) throw new FormatError(`Could not parse TOML: ${err.message}`, err.lineNumber, err.column + 1)
    if (err instanceof TomlError) throw new FormatError(`Could not parse TOML: ${firstLine(err.message)}`, err.line, err.column)
    if (err instanceof RangeError) throw new FormatError('Could not parse TOML: document is nested too deeply')
    throw new FormatError(`Could not parse TOML: ${err instanceof Error ? firstLine(err.message) : 'unexpected error'}`)
  }
  return program
}

/** Deep copy of the metadata with plain values, sorted keys (as written) and no comments. */
function plainMetadata(v: Value): Value {
  if (v instanceof Literal) return v.value
  if (v instanceof TreeSeq) return new TreeSeq(v.values().map(plainMetadata))
  if (!(v instanceof TreeMap)) return v
  const entries = v.entries().map((e) => ({ key: e.key, value: plainMetadata(e.value) }))
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return new TreeMap(entries)
}

/** Remove a top-level `sops` table from the tree; a `sops` key of another type stays put. */
function takeMetadata(root: TreeMap): TreeMap | undefined {
  const index = root.items.findIndex((i) => !(i instanceof Comment) && i.key === SOPS_KEY)
  const item = root.items[index]
  if (item === undefined || item instanceof Comment || !(item.value instanceof TreeMap)) return undefined
  root.items.splice(index, 1)
  return plainMetadata(item.value) as TreeMap
}

function firstKey(node: AST.TOMLKeyValue | AST.TOMLTable): string | number | undefined {
  if (node.type === 'TOMLTable') return node.resolvedKey[0]
  const k = node.key.keys[0]
  return k?.type === 'TOMLBare' ? k.name : k?.value
}

/**
 * Where the trailing metadata tables start (the beginning of the `[sops…]` header line), or
 * undefined when `sops` is defined anywhere but in tables at the end of the file.
 */
function metadataStart(text: string, program: AST.TOMLProgram): number | undefined {
  const items = program.body[0].body
  const first = items.findIndex((i) => firstKey(i) === SOPS_KEY)
  if (first < 0 || items.slice(first).some((i) => i.type !== 'TOMLTable' || firstKey(i) !== SOPS_KEY)) return undefined
  let start = items[first]!.range[0]
  while (start > 0 && (text[start - 1] === ' ' || text[start - 1] === '\t')) start--
  return start
}

/** emit puts exactly one line break between the document and `[sops]`; take it off again. */
function bodyBefore(text: string, cut: number): string {
  const before = text.slice(0, cut)
  if (before.endsWith('\r\n')) return before.slice(0, -2)
  return before.endsWith('\n') ? before.slice(0, -1) : before
}

/**
 * In an encrypted file string leaves are plain strings, so the core decrypts `ENC[…]` values
 * (it only decrypts strings); a clear string hashes the same either way.
 */
function plainStrings(v: Value): void {
  if (!(v instanceof TreeMap || v instanceof TreeSeq)) return
  if (v instanceof TreeMap) {
    for (const e of v.entries()) {
      if (e.value instanceof Literal && typeof e.value.value === 'string' && e.value.typeTag === 'string') e.value = e.value.value
      else plainStrings(e.value)
    }
    return
  }
  v.items = v.items.map((i) => (i instanceof Literal && typeof i.value === 'string' && i.typeTag === 'string' ? i.value : i))
  for (const i of v.items) if (!(i instanceof Comment)) plainStrings(i)
}

function rangeOf(leaf: unknown, ranges: ReadonlyMap<Literal | Comment, Range>): Range {
  const range = leaf instanceof Literal || leaf instanceof Comment ? ranges.get(leaf) : undefined
  // Every leaf and comment of a freshly built tree was created by the builder.
  if (range === undefined) throw new FormatError('Could not parse TOML: internal error (leaf without source range)')
  return range
}

function parse(bytes: Uint8Array): Document {
  const { text, bom } = decode(bytes)
  const program = parseProgram(text)
  const builder = new TreeBuilder(text, program.comments)
  const root = builder.build(program.body[0])
  const metadata = takeMetadata(root)
  const ranges = flattenTree(root).leaves.map((leaf) => rangeOf(leaf, builder.ranges))
  let source: string | undefined = text
  if (metadata) {
    plainStrings(root)
    const cut = metadataStart(text, program)
    source = cut === undefined ? undefined : bodyBefore(text, cut)
  }
  const { shape, leaves } = flattenTree(root)
  const slots = leaves.map((original, i): Slot => ({ range: ranges[i]!, original }))
  return { branches: [root], metadata, origin: new TomlOrigin(source, bom, shape, slots) }
}

// ---- emit ----------------------------------------------------------------------------------

function eolOf(text: string): string {
  const i = text.indexOf('\n')
  return i > 0 && text[i - 1] === '\r' ? '\r\n' : '\n'
}

function withEol(lfText: string, eol: string): string {
  return eol === '\n' ? lfText : lfText.replace(/\r?\n/g, eol)
}

/**
 * The source with the tree's values spliced in; when keys or elements were added or removed
 * (`set` of a new key, `unset`), first with those written in (toml-restructure.ts), the result
 * read again for its ranges. Undefined when the tree cannot be written that way.
 */
function spliceInto(root: TreeMap, origin: TomlOrigin): string | undefined {
  const source = origin.source!
  const spliced = splice(root, source, origin.shape, origin.slots)
  if (spliced !== undefined) return spliced
  const restructured = restructure(root, source)
  if (restructured === undefined) return undefined
  let again: Document
  try {
    again = parse(new TextEncoder().encode(restructured))
  } catch {
    return undefined
  }
  const layout = again.origin as TomlOrigin
  return splice(root, restructured, layout.shape, layout.slots)
}

function emitBody(root: TreeMap, origin: TomlOrigin | undefined): string {
  if (origin?.source !== undefined) {
    const spliced = spliceInto(root, origin)
    if (spliced !== undefined) return spliced
  }
  return withEol(writeDocument(root), origin?.source !== undefined ? eolOf(origin.source) : '\n')
}

/** The document, one line break, then `[sops]` (in the document's line-break style). */
function appendMetadata(body: string, metadata: TreeMap): string {
  const eol = eolOf(body)
  const table = withEol(writeTable([SOPS_KEY], metadata, { reorder: true }), eol)
  return body === '' ? table : body + eol + table
}

function emit(doc: Document): Uint8Array {
  if (doc.branches.length > 1) throw new EmitError('TOML files hold exactly one document')
  const origin = doc.origin instanceof TomlOrigin ? doc.origin : undefined
  const root = doc.branches[0] ?? new TreeMap()
  let text = emitBody(root, origin)
  if (doc.metadata) text = appendMetadata(text, doc.metadata)
  return new TextEncoder().encode((origin?.bom ? BOM : '') + text)
}

/**
 * `--extract` of a non-map value: a string as its text (like the CLI prints plain strings),
 * anything else in its TOML spelling (the source's for Literals), without a line break.
 */
function emitValue(value: Value): Uint8Array {
  if (value instanceof TreeMap) return emit({ branches: [value], metadata: undefined })
  const plain = value instanceof Literal && typeof value.value === 'string' && value.typeTag === 'string' ? value.value : value
  if (plain === null) throw new EmitError('TOML has no null value')
  return new TextEncoder().encode(typeof plain === 'string' ? plain : writeValue(plain))
}

export const tomlFormat: Format = {
  name: 'toml',
  capabilities: { rawStrings: false, comments: true, multipleDocuments: false, encryptionRules: true, example: 'complex-tree' },
  extensions: ['.toml'],
  parse(bytes) {
    try {
      return parse(bytes)
    } catch (err) {
      if (err instanceof TsopsError) throw err
      throw new FormatError(`Could not parse TOML: ${err instanceof Error ? firstLine(err.message) : 'unexpected error'}`)
    }
  },
  emit,
  emitValue,
  decodeLiteral: (type, text) => (type === 'comment' ? undefined : decodeTomlLiteral(type, text)),
  hasMetadataKey: (doc) => doc.metadata !== undefined || doc.branches.some((b) => b.entry(SOPS_KEY) !== undefined),
}
