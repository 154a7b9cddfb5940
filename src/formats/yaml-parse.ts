/**
 * YAML text -> sops tree, reproducing stores/yaml LoadPlainFile on top of yaml.v3.
 *
 * The `yaml` package parses the syntax (failsafe schema, so every scalar keeps its source
 * value and style); typing is yaml.v3's resolve() (yaml-resolve.ts). Comments are read from the
 * lexer and placed by position, following what yaml.v3 + sops produce: a comment line belongs
 * to the innermost block collection whose items sit at the comment's indentation (or that
 * surrounds it), before the first item that starts after it; an end-of-line comment is placed
 * just before the entry on its line, marked inline when that entry's value is a scalar.
 *
 * The source and its comments are yaml-source.ts, scalar typing yaml-scalars.ts, containers and
 * comment placement yaml-layout.ts; this file reads documents.
 */
import { type Pair, type Scalar as YScalar, isMap, isScalar, isSeq, parseAllDocuments, type Document as YDocument, type Node as YNodeT } from 'yaml'
import { FormatError } from '../core/errors.js'
import { Comment, TreeMap, TreeSeq, cloneValue, type Value } from '../core/tree.js'
import { parseSimpleYaml } from './yaml-simple.js'
import { Source, lexComments, type SourceComment } from './yaml-source.js'
import { scalarText, scalarValue } from './yaml-scalars.js'
import { Builder, allContainers, finish, placeLine, placeTrailing, type Container } from './yaml-layout.js'

export interface ParsedYaml {
  branches: TreeMap[]
  metadata: TreeMap | undefined
  /** Whether any document has a top-level `sops` key (encrypt refuses such plaintexts). */
  hasSopsKey: boolean
}

// ---- documents -------------------------------------------------------------------------------

function formatErrorOf(doc: YDocument): FormatError | undefined {
  const err = doc.errors[0]
  if (!err) return undefined
  const pos = err.linePos?.[0]
  const message = (err.message.split('\n')[0] ?? err.message).replace(/ at line \d+, column \d+:?$/, '')
  return new FormatError(`Error unmarshaling input YAML: ${isStackOverflow(message) ? NESTED_TOO_DEEPLY : message}`, pos?.line, pos?.col)
}

/**
 * The `yaml` package recurses per nesting level and reports a stack overflow as a document
 * error (somewhere past 1,000 levels; yaml.v3 stops at 10,000). Say what it means.
 */
export const NESTED_TOO_DEEPLY = 'document is nested too deeply'

export function isStackOverflow(message: string): boolean {
  return message.startsWith('Maximum call stack size exceeded')
}

/** More duplicate-key lines than this are summarised (100,000 copies of one key are 5e9 pairs). */
const MAX_DUPLICATE_KEY_ERRORS = 100

/**
 * yaml.v3 rejects duplicate keys (by their raw text) in every mapping of the first document,
 * listing every pair (i < j) in order. Keys are grouped by text first, so a mapping with many
 * keys costs linear time, not one comparison per pair.
 */
function checkDuplicateKeys(node: unknown, src: Source): void {
  if (isMap(node)) {
    const pairs = node.items as Pair<YNodeT | null, YNodeT | null>[]
    const duplicates = sameKeyGroups(pairs, src)
    const errors: string[] = []
    let more = 0
    let firstLine: number | undefined
    pairs.forEach((pi, i) => {
      const dup = duplicates[i]
      for (let k = (dup?.at ?? 0) + 1; dup && k < dup.group.length; k++) {
        if (errors.length === MAX_DUPLICATE_KEY_ERRORS) {
          more += dup.group.length - k
          break
        }
        const a = pi.key as YScalar
        const bk = pairs[dup.group[k]!]!.key as YScalar
        const lj = src.line(bk.range?.[0] ?? 0) + 1
        firstLine ??= lj
        errors.push(`line ${lj}: mapping key ${JSON.stringify(scalarText(a, src, -1))} already defined at line ${src.line(a.range?.[0] ?? 0) + 1}`)
      }
      checkDuplicateKeys(pi.value, src)
    })
    if (more > 0) errors.push(`… and ${more} more`)
    if (errors.length > 0) throw new FormatError(`yaml: unmarshal errors:\n  ${errors.join('\n  ')}`, firstLine)
  } else if (isSeq(node)) {
    for (const item of node.items) checkDuplicateKeys(item, src)
  }
}

/** For each pair whose scalar key text occurs more than once: the indices with that text and its place among them. */
function sameKeyGroups(pairs: Pair<YNodeT | null, YNodeT | null>[], src: Source): ({ group: number[]; at: number } | undefined)[] {
  const byText = new Map<string, number[]>()
  pairs.forEach((p, i) => {
    if (!p.key || !isScalar(p.key)) return
    const text = scalarText(p.key, src, -1)
    const group = byText.get(text)
    if (group) group.push(i)
    else byText.set(text, [i])
  })
  const out: ({ group: number[]; at: number } | undefined)[] = []
  for (const group of byText.values()) {
    if (group.length > 1) group.forEach((i, at) => (out[i] = { group, at }))
  }
  return out
}

/** One document -> one branch, with its comments placed. */
function documentBranch(doc: YDocument, src: Source, comments: SourceComment[], budget: AliasBudget): TreeMap {
  const b = new Builder(src, doc)
  const contents = doc.contents as YNodeT | null
  let root: Container
  if (contents && isMap(contents)) {
    root = b.map(contents, () => {}).child
  } else if (contents && isSeq(contents)) {
    throw new FormatError('Error unmarshaling input YAML: YAML documents that are sequences are not supported', ...b.pos(contents))
  } else if (contents && !(isScalar(contents) && scalarValue(contents, src) === null)) {
    throw new FormatError('Error unmarshaling input YAML: YAML documents that are values are not supported', ...b.pos(contents))
  } else {
    root = { flow: false, col: 0, startLine: 0, startOffset: 0, endLine: 0, entries: [], slots: [], target: new TreeMap() }
  }
  for (const cm of comments) {
    if (cm.trailing) placeTrailing(b, root, cm)
    else placeLine(b, root, cm)
  }
  for (const c of allContainers(root)) finish(c)
  for (const fix of b.aliases) {
    const v = b.built.get(fix.source)
    if (v !== undefined) budget.spend(nodeCount(v))
    fix.apply(v === undefined ? null : cloneValue(v))
  }
  return root.target as TreeMap
}

/**
 * Nodes that alias expansion may create in one stream. Each alias is a copy, so ten anchors of
 * ten aliases each make 10^10 nodes from a few hundred bytes ("billion laughs"); yaml.v3 stops
 * those with the same message.
 */
export const MAX_ALIAS_EXPANSION = 1_000_000

class AliasBudget {
  private spent = 0
  spend(nodes: number): void {
    this.spent += nodes
    if (this.spent > MAX_ALIAS_EXPANSION) throw new FormatError('Error unmarshaling input YAML: yaml: document contains excessive aliasing')
  }
}

/** Containers and leaves in a value, counted without recursion. */
function nodeCount(v: Value): number {
  let count = 0
  const pending: (Value | Comment)[] = [v]
  while (pending.length > 0) {
    const x = pending.pop()!
    count++
    if (x instanceof TreeMap) for (const i of x.items) pending.push(i instanceof Comment ? i : i.value)
    else if (x instanceof TreeSeq) for (const i of x.items) pending.push(i)
  }
  return count
}

/**
 * Comments belong to the last document that starts at or before them (else the first). Both
 * lists are in source order, so one forward pass assigns them (not documents × comments).
 */
function commentsByDocument(docs: YDocument[], comments: SourceComment[]): SourceComment[][] {
  const out: SourceComment[][] = docs.map(() => [])
  let idx = 0
  for (const cm of comments) {
    while (idx + 1 < docs.length && (docs[idx + 1]!.range?.[0] ?? 0) <= cm.offset) idx++
    out[idx]?.push(cm)
  }
  return out
}

/** `simple: false` skips the fast reader (yaml-simple.ts); tests compare the two. */
export function parseYamlText(text: string, options: { simple?: boolean } = {}): ParsedYaml {
  const simple = options.simple === false ? undefined : parseSimpleYaml(text)
  if (simple) return extractMetadata([simple])
  const src = new Source(text)
  // CST tokens serve comment placement and the columns of `-` indicators (which block scalars
  // decoded by yaml-breaks.ts count from); without them they would be kept for nothing.
  const keepSourceTokens = text.includes('#') || src.hasYaml11Breaks || !/[\n\r]$/.test(text)
  const parsed = parseAllDocuments(src.text, { schema: 'failsafe', resolveKnownTags: false, keepSourceTokens, uniqueKeys: false, merge: false })
  const docs = Array.isArray(parsed) ? (parsed as YDocument[]) : []
  for (const d of docs) {
    const err = formatErrorOf(d)
    if (err) throw err
  }
  if (docs.length === 0) return { branches: [], metadata: undefined, hasSopsKey: false }
  checkDuplicateKeys(docs[0]!.contents, src)
  const grouped = commentsByDocument(docs, lexComments(src))
  const budget = new AliasBudget()
  const branches = docs.map((d, i) => documentBranch(d, src, grouped[i]!, budget))
  return extractMetadata(branches)
}

/**
 * sops ExtractMetadata: the first document's top-level `sops` mapping is the metadata and
 * `sops` is stripped from every document. A `sops` key that is not a mapping stays in place
 * (the core then reports missing metadata; encrypt refuses it as already encrypted).
 */
function extractMetadata(branches: TreeMap[]): ParsedYaml {
  const hasSopsKey = branches.some((b) => b.entry('sops') !== undefined)
  const meta = branches[0]?.get('sops')
  if (!(meta instanceof TreeMap)) return { branches, metadata: undefined, hasSopsKey }
  for (const b of branches) b.delete('sops')
  return { branches, metadata: meta, hasSopsKey }
}

