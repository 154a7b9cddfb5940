/**
 * toml-eslint-parser AST -> the ordered tree, remembering the source range of every leaf and
 * comment so emit can splice replacements in place.
 *
 * Comment placement: the AST is read in document order with one cursor over the (sorted)
 * comments, and every comment goes into the innermost container open at its position:
 *  - inside `[ … ]` of an array: that TreeSeq;
 *  - inside `{ … }` of an inline table: that TreeMap;
 *  - otherwise the section it is written in: the root map before the first header, else the
 *    map of the last `[table]` / `[[array]]` element header above it (header-line comments
 *    included). A comment before a header therefore belongs to the section above it.
 * A key-value's end-of-line comment follows it in its section's map (Comment.inline = true).
 */
import type { AST } from 'toml-eslint-parser'
import { Comment, type Literal, TreeMap, TreeSeq, type MapEntry, type Value } from '../core/tree.js'
import { FormatError } from '../core/errors.js'
import { literalOf, TomlValueError } from './toml-values.js'

export type Range = readonly [number, number]

function keyName(k: AST.TOMLBare | AST.TOMLQuoted): string {
  return k.type === 'TOMLBare' ? k.name : k.value
}

/** The parsers reject invalid structure; this only guards against an AST it does not expect. */
function structureError(node: AST.TOMLNode, what: string): FormatError {
  return new FormatError(`Could not parse TOML: ${what}`, node.loc.start.line, node.loc.start.column + 1)
}

type Container = TreeMap | TreeSeq

export class TreeBuilder {
  /** Source range of every leaf Literal and Comment created. */
  readonly ranges = new Map<Literal | Comment, Range>()
  private next = 0
  /**
   * The entries of every map built, by key: TreeMap.get scans, and a file of n `[tN]` headers
   * or `a.kN = …` lines looked up n keys in a growing map (quadratic). TOML keys are unique.
   */
  private readonly index = new WeakMap<TreeMap, Map<string, MapEntry>>()

  constructor(
    private readonly text: string,
    private readonly comments: readonly AST.Comment[],
  ) {}

  build(top: AST.TOMLTopLevelTable): TreeMap {
    const root = new TreeMap()
    let section = root
    for (const item of top.body) {
      this.flush(item.range[0], section)
      if (item.type === 'TOMLKeyValue') {
        this.keyValue(item, section)
        continue
      }
      section = this.tableMap(root, item)
      for (const kv of item.body) {
        this.flush(kv.range[0], section)
        this.keyValue(kv, section)
      }
    }
    this.flush(Infinity, section)
    return root
  }

  /** Move every comment that starts before `pos` into `into`. */
  private flush(pos: number, into: Container): void {
    while (this.next < this.comments.length && this.comments[this.next]!.range[0] < pos) {
      const c = this.comments[this.next++]!
      const comment = new Comment(c.value, this.isInline(c.range[0]))
      this.ranges.set(comment, c.range)
      into.items.push(comment)
    }
  }

  /** Is there code before the comment on its line? */
  private isInline(start: number): boolean {
    for (let i = start - 1; i >= 0; i--) {
      const ch = this.text[i]
      if (ch === '\n') return false
      if (ch !== ' ' && ch !== '\t' && ch !== '\r') return true
    }
    return false
  }

  private keyValue(kv: AST.TOMLKeyValue, map: TreeMap): void {
    const names = kv.key.keys.map(keyName)
    let target = map
    for (const name of names.slice(0, -1)) target = this.childMap(target, name, kv)
    this.add(target, { key: names[names.length - 1]!, value: this.value(kv.value) })
  }

  private add(map: TreeMap, entry: MapEntry): void {
    map.items.push(entry)
    let keys = this.index.get(map)
    if (keys === undefined) this.index.set(map, (keys = new Map()))
    keys.set(entry.key, entry)
  }

  private lookup(map: TreeMap, key: string): Value | undefined {
    return this.index.get(map)?.get(key)?.value
  }

  private childMap(map: TreeMap, key: string, node: AST.TOMLNode): TreeMap {
    const existing = this.lookup(map, key)
    if (existing instanceof TreeMap) return existing
    if (existing !== undefined) throw structureError(node, `key ${JSON.stringify(key)} is not a table`)
    const created = new TreeMap()
    this.add(map, { key, value: created })
    return created
  }

  private childSeq(map: TreeMap, key: string, node: AST.TOMLNode): TreeSeq {
    const existing = this.lookup(map, key)
    if (existing instanceof TreeSeq) return existing
    if (existing !== undefined) throw structureError(node, `key ${JSON.stringify(key)} is not an array of tables`)
    const created = new TreeSeq()
    this.add(map, { key, value: created })
    return created
  }

  private value(node: AST.TOMLContentNode): Value {
    if (node.type === 'TOMLArray') {
      const seq = new TreeSeq()
      for (const el of node.elements) {
        this.flush(el.range[0], seq)
        seq.items.push(this.value(el))
      }
      this.flush(node.range[1], seq)
      return seq
    }
    if (node.type === 'TOMLInlineTable') {
      const map = new TreeMap()
      for (const kv of node.body) {
        this.flush(kv.range[0], map)
        this.keyValue(kv, map)
      }
      this.flush(node.range[1], map)
      return map
    }
    return this.leaf(node)
  }

  private leaf(node: AST.TOMLValue): Literal {
    let lit: Literal
    try {
      lit = literalOf(node, this.text.slice(node.range[0], node.range[1]))
    } catch (err) {
      if (err instanceof TomlValueError) throw structureError(node, err.message)
      throw err
    }
    this.ranges.set(lit, node.range)
    return lit
  }

  /**
   * The map a `[table]` or `[[array]]` header opens. resolvedKey carries the array-of-tables
   * indices (`[items.sub]` after two `[[items]]` is ['items', 1, 'sub']); an index one past
   * the end is the element this `[[header]]` adds.
   */
  private tableMap(root: TreeMap, table: AST.TOMLTable): TreeMap {
    const keys = table.resolvedKey
    let cur = root
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!
      if (typeof k === 'number') throw structureError(table, 'unexpected array index in table key')
      const index = keys[i + 1]
      if (typeof index !== 'number') {
        cur = this.childMap(cur, k, table)
        continue
      }
      cur = arrayElement(this.childSeq(cur, k, table), index, table)
      i++
    }
    return cur
  }
}

/**
 * The element `index` of an array of tables (only `[[header]]`s fill it, so it holds no
 * comments and `items` are its elements; copying them per header was quadratic).
 */
function arrayElement(seq: TreeSeq, index: number, node: AST.TOMLNode): TreeMap {
  if (index === seq.items.length) {
    const created = new TreeMap()
    seq.items.push(created)
    return created
  }
  const el = seq.items[index]
  if (!(el instanceof TreeMap)) throw structureError(node, 'array element is not a table')
  return el
}
