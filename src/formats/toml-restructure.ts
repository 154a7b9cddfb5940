/**
 * Keys and list elements added or removed since parse (`set` of a new key, `unset`), written
 * into the source as text edits, so every other byte stays as it was: a trailing comment stays
 * on its line, `[ 8000, 8001 ]` keeps its spaces, a `'literal key'` stays literal and an inline
 * table stays inline (a key added to it is added inline).
 *
 * The edits only add or remove statements, inline-table entries and array elements; toml.ts
 * then reads the result again and splices the tree's values into it (toml-splice.ts), which
 * also checks that the text now has exactly the tree's shape. Anything this cannot do (a new
 * `[[array]]` element, a removed `[table]`, a key that would read back in another order than
 * the tree has it, which the MAC would catch) returns undefined: the file is then rewritten.
 */
import type { AST } from 'toml-eslint-parser'
import { parseTomlAst } from './toml-ast.js'
import { Comment, TreeMap, TreeSeq, type Scalar, type Value } from '../core/tree.js'
import { TreeBuilder } from './toml-read.js'
import { keyText, sameScalar } from './toml-values.js'
import { writeValue } from './toml-write.js'

type PathPart = string | number

/** Where a map's new keys are written. */
type MapPlace =
  | { kind: 'inline'; node: AST.TOMLInlineTable }
  /** A section's statements (`prefix`: the dotted keys from the section to this map). */
  | { kind: 'section'; prefix: string[]; insertAt: number; indent: string }

interface Statement {
  node: AST.TOMLKeyValue
  /** The inline table it is an entry of (deleted with its comma), if any. */
  inline: AST.TOMLInlineTable | undefined
}

interface Edit {
  at: number
  end: number
  text: string
}

const pathKey = (path: readonly PathPart[]): string => JSON.stringify(path)

function keyName(k: AST.TOMLBare | AST.TOMLQuoted): string {
  return k.type === 'TOMLBare' ? k.name : k.value
}

/** Where a line ends (before its line break), from `pos` on. */
function lineEnd(text: string, pos: number): number {
  const nl = text.indexOf('\n', pos)
  if (nl === -1) return text.length
  return text[nl - 1] === '\r' ? nl - 1 : nl
}

function lineStart(text: string, pos: number): number {
  return text.lastIndexOf('\n', pos - 1) + 1
}

/** The places and statements of the parsed source, by the path of the container they belong to. */
class SourceMap {
  readonly maps = new Map<string, MapPlace>()
  readonly arrays = new Map<string, AST.TOMLArray>()
  readonly statements = new Map<string, Statement>()

  constructor(
    private readonly text: string,
    top: AST.TOMLTopLevelTable,
  ) {
    const rootBody = top.body.filter((i): i is AST.TOMLKeyValue => i.type === 'TOMLKeyValue')
    this.section([], rootBody, 0)
    for (const item of top.body) {
      if (item.type !== 'TOMLTable') continue
      const path = item.resolvedKey as PathPart[]
      this.section(path, item.body, lineEnd(text, item.key.range[1]))
    }
  }

  private section(path: PathPart[], body: readonly AST.TOMLKeyValue[], headerEnd: number): void {
    this.maps.set(pathKey(path), { kind: 'section', prefix: [], insertAt: headerEnd, indent: '' })
    for (const kv of body) {
      const keys = kv.key.keys.map(keyName)
      // This statement is the last one so far of the map it writes into, and of every map its dotted keys pass.
      for (let i = 0; i < keys.length; i++) {
        const place: MapPlace = { kind: 'section', prefix: keys.slice(0, i), insertAt: lineEnd(this.text, kv.range[1]), indent: this.indentOf(kv) }
        this.maps.set(pathKey([...path, ...keys.slice(0, i)]), place)
      }
      this.statements.set(pathKey([...path, ...keys]), { node: kv, inline: undefined })
      this.value([...path, ...keys], kv.value)
    }
  }

  private indentOf(kv: AST.TOMLKeyValue): string {
    const start = lineStart(this.text, kv.range[0])
    return this.text.slice(start, kv.range[0]).trim() === '' ? this.text.slice(start, kv.range[0]) : ''
  }

  private value(path: PathPart[], node: AST.TOMLContentNode): void {
    if (node.type === 'TOMLInlineTable') {
      this.maps.set(pathKey(path), { kind: 'inline', node })
      for (const kv of node.body) {
        const keys = kv.key.keys.map(keyName)
        this.statements.set(pathKey([...path, ...keys]), { node: kv, inline: node })
        this.value([...path, ...keys], kv.value)
      }
    } else if (node.type === 'TOMLArray') {
      this.arrays.set(pathKey(path), node)
      node.elements.forEach((el, i) => this.value([...path, i], el))
    }
  }
}

/** The source with the keys and elements added to or removed from `root` written in, or undefined. */
export function restructure(root: TreeMap, source: string): string | undefined {
  let program: AST.TOMLProgram
  try {
    program = parseTomlAst(source.endsWith('\n') ? source : source + '\n')
  } catch {
    return undefined
  }
  const top = program.body[0]
  const original = new TreeBuilder(source, program.comments).build(top)
  const differ = new Differ(source, new SourceMap(source, top))
  if (!differ.compare(root, original, [])) return undefined
  return differ.apply()
}

class Differ {
  private readonly edits: Edit[] = []
  private readonly eol: string

  constructor(
    private readonly text: string,
    private readonly places: SourceMap,
  ) {
    const nl = text.indexOf('\n')
    this.eol = nl > 0 && text[nl - 1] === '\r' ? '\r\n' : '\n'
  }

  /** The source with the edits made; undefined when two of them overlap. */
  apply(): string | undefined {
    this.edits.sort((a, b) => a.at - b.at || a.end - b.end)
    const parts: string[] = []
    let pos = 0
    for (const e of this.edits) {
      if (e.at < pos) return undefined
      parts.push(this.text.slice(pos, e.at), e.text)
      pos = e.end
    }
    parts.push(this.text.slice(pos))
    return parts.join('')
  }

  /** Records the edits that turn `orig` (as parsed) into `cur`; false when they cannot be made. */
  compare(cur: Value, orig: Value, path: PathPart[]): boolean {
    if (cur instanceof TreeMap && orig instanceof TreeMap) return this.compareMaps(cur, orig, path)
    if (cur instanceof TreeSeq && orig instanceof TreeSeq) return this.compareSeqs(cur, orig, path)
    const curContainer = cur instanceof TreeMap || cur instanceof TreeSeq
    const origContainer = orig instanceof TreeMap || orig instanceof TreeSeq
    if (!curContainer && !origContainer) return true // a value change: spliced later
    // A value that became (or stopped being) a table or list: its statement takes the new value.
    const statement = this.places.statements.get(pathKey(path))
    if (statement === undefined || cur === null) return false
    this.edits.push({ at: statement.node.value.range[0], end: statement.node.value.range[1], text: writeValue(cur) })
    return true
  }

  private compareMaps(cur: TreeMap, orig: TreeMap, path: PathPart[]): boolean {
    const curKeys = cur.entries().map((e) => e.key)
    const present = new Map(cur.entries().map((e) => [e.key, e.value]))
    const had = new Set(orig.entries().map((e) => e.key))
    for (const e of orig.entries()) {
      if (present.has(e.key)) {
        if (!this.compare(present.get(e.key)!, e.value, [...path, e.key])) return false
      } else if (!this.removeStatement([...path, e.key])) {
        return false
      }
    }
    // New keys come last (set appends), after every key that was there.
    const added = cur.entries().filter((e) => !had.has(e.key))
    const firstAdded = curKeys.findIndex((k) => !had.has(k))
    if (added.length === 0) return true
    if (curKeys.slice(firstAdded).some((k) => had.has(k))) return false
    return added.every((e) => e.value === null || this.addEntry(path, e.key, e.value))
  }

  private compareSeqs(cur: TreeSeq, orig: TreeSeq, path: PathPart[]): boolean {
    const now = cur.values()
    const before = orig.values()
    const array = this.places.arrays.get(pathKey(path))
    if (now.length === before.length) return now.every((v, i) => this.compare(v, before[i]!, [...path, i]))
    if (array === undefined || cur.items.some((i) => i instanceof Comment)) return false
    if (now.length > before.length) {
      if (!before.every((v, i) => this.compare(now[i]!, v, [...path, i]))) return false
      const added = now.slice(before.length)
      if (added.some((v) => v === null)) return false
      const text = added.map((v) => writeValue(v)).join(', ')
      const last = array.elements[array.elements.length - 1]
      if (last) this.edits.push({ at: last.range[1], end: last.range[1], text: ', ' + text })
      else this.edits.push({ at: array.range[0], end: array.range[1], text: `[${text}]` })
      return true
    }
    if (before.length - now.length !== 1) return false
    // One element removed (unset): the first that no longer lines up; those after it moved up one.
    let removed = now.findIndex((v, i) => !sameLeaf(v, before[i]!))
    if (removed === -1) removed = now.length
    if (!now.slice(removed).every((v, i) => sameLeaf(v, before[removed + 1 + i]!))) return false
    this.edits.push(this.separatedRange(array.elements, removed))
    return true
  }

  /** Deletes `elements[i]` with the comma that separates it from a neighbour. */
  private separatedRange(elements: readonly { range: readonly [number, number] }[], i: number): Edit {
    const el = elements[i]!
    const next = elements[i + 1]
    if (next) return { at: el.range[0], end: next.range[0], text: '' }
    const prev = elements[i - 1]
    return prev ? { at: prev.range[1], end: el.range[1], text: '' } : { at: el.range[0], end: el.range[1], text: '' }
  }

  private removeStatement(path: PathPart[]): boolean {
    const statement = this.places.statements.get(pathKey(path))
    if (statement === undefined) return false // a [table] or [[array]] element: not removed by splicing
    if (statement.inline) {
      const body = statement.inline.body
      this.edits.push(this.separatedRange(body, body.indexOf(statement.node)))
      return true
    }
    const { range } = statement.node
    const end = lineEnd(this.text, range[1])
    const rest = this.text.slice(range[1], end)
    if (rest.trim() === '') {
      // The whole line, with its line break.
      const start = lineStart(this.text, range[0])
      const next = end < this.text.length ? end + (this.text[end] === '\r' ? 2 : 1) : end
      this.edits.push({ at: start, end: next, text: '' })
    } else {
      // A comment after it stays where it is (it is still in the tree), on a line of its own.
      this.edits.push({ at: range[0], end: range[1] + (rest.length - rest.trimStart().length), text: '' })
    }
    return true
  }

  private addEntry(path: PathPart[], key: string, value: Value): boolean {
    const place = this.places.maps.get(pathKey(path))
    if (place === undefined) return false
    const entry = `${keyText(key)} = ${writeValue(value)}`
    if (place.kind === 'inline') {
      const last = place.node.body[place.node.body.length - 1]
      if (last) this.edits.push({ at: last.range[1], end: last.range[1], text: ', ' + entry })
      else this.edits.push({ at: place.node.range[0], end: place.node.range[1], text: `{ ${entry} }` })
      return true
    }
    const line = [...place.prefix.map(keyText), keyText(key)].join('.') + ` = ${writeValue(value)}`
    if (place.insertAt === 0 && !this.text.startsWith('\n')) {
      this.edits.push({ at: 0, end: 0, text: line + this.eol })
    } else {
      this.edits.push({ at: place.insertAt, end: place.insertAt, text: this.eol + place.indent + line })
    }
    return true
  }
}

/**
 * Does element `a` of a list now still line up with element `b` as parsed? Scalars by kind and
 * value (an unchanged encrypted value keeps its ciphertext); containers by kind only.
 */
function sameLeaf(a: Value, b: Value): boolean {
  const kind = (v: Value): string => (v instanceof TreeMap ? 'map' : v instanceof TreeSeq ? 'list' : 'scalar')
  if (kind(a) !== kind(b)) return false
  return kind(a) !== 'scalar' || sameScalar(a as Scalar, b as Scalar)
}
