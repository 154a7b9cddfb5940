/**
 * Writing a whole tree as TOML: the `[sops]` metadata table, and documents whose source cannot
 * be spliced (no origin, or a tree whose shape changed since parse).
 *
 * Documents keep their key order, because the MAC hashes values in walk order: a map entry is
 * written as a `[table]` / `[[array of tables]]` section only when nothing but such entries
 * follows it in its map; earlier ones are written inline (`a = { … }`, `a = [{ … }]`).
 * Comments of a map are written before its first sub-table header, so they read back into the
 * same map (their AAD is that map's path). Comments inside inline tables are dropped (TOML 1.0
 * allows no newline there). A null value is refused (TOML has no null, and leaving it out would
 * lose a key or shift a list's indices without a word).
 * The metadata is read back with sorted keys, so there scalars simply come first.
 */
import { EmitError } from '../core/errors.js'
import { Comment, TreeMap, TreeSeq, type MapEntry, type MapItem, type Value } from '../core/tree.js'
import { keyText, multilineBasicString, scalarText } from './toml-values.js'

export interface WriteOptions {
  /** Scalars before sub-tables whatever the tree order (metadata, read back sorted). */
  reorder?: boolean
}

type Context = 'body' | 'array' | 'inline-table'

function isTableLike(v: Value): boolean {
  if (v instanceof TreeMap) return true
  if (!(v instanceof TreeSeq)) return false
  const values = v.values()
  return values.length > 0 && values.every((x) => x instanceof TreeMap)
}

function headerPath(path: readonly string[]): string {
  return path.map(keyText).join('.')
}

class TomlWriter {
  readonly lines: string[] = []

  constructor(private readonly reorder: boolean) {}

  section(path: string[], map: TreeMap, header: string | undefined, leading: readonly Comment[] = []): void {
    if (header !== undefined) {
      if (this.lines.length > 0) this.lines.push('')
      this.lines.push(header)
    }
    for (const c of leading) this.comment(c)
    const { head, tail } = this.split(map)
    for (const item of head) {
      if (item instanceof Comment) this.comment(item)
      else this.entry(item)
    }
    for (const e of tail) this.subTable([...path, e.key], e.value as TreeMap | TreeSeq)
  }

  /** Head: comments and inline entries; tail: entries written as their own sections. */
  private split(map: TreeMap): { head: MapItem[]; tail: MapEntry[] } {
    let start = map.items.length
    if (this.reorder) {
      const tail = map.entries().filter((e) => isTableLike(e.value))
      return { head: map.items.filter((i) => i instanceof Comment || !isTableLike(i.value)), tail }
    }
    for (let i = map.items.length - 1; i >= 0; i--) {
      const item = map.items[i]!
      if (item instanceof Comment) continue
      if (!isTableLike(item.value)) break
      start = i
    }
    const rest = map.items.slice(start)
    return {
      head: [...map.items.slice(0, start), ...rest.filter((i) => i instanceof Comment)],
      tail: rest.filter((i): i is MapEntry => !(i instanceof Comment)),
    }
  }

  private subTable(path: string[], value: TreeMap | TreeSeq): void {
    if (value instanceof TreeMap) {
      this.section(path, value, `[${headerPath(path)}]`)
      return
    }
    // Comments between elements go into the next element's section (same AAD: list indices
    // are not in the path); trailing ones into the last element.
    const groups: { map: TreeMap; leading: Comment[] }[] = []
    let pending: Comment[] = []
    for (const item of value.items) {
      if (item instanceof Comment) pending.push(item)
      else {
        groups.push({ map: item as TreeMap, leading: pending })
        pending = []
      }
    }
    // A loop, not push(...pending): a spread of 120,000 trailing comments overflows the stack.
    const last = groups[groups.length - 1]!.leading
    for (const c of pending) last.push(c)
    for (const g of groups) this.section(path, g.map, `[[${headerPath(path)}]]`, g.leading)
  }

  private comment(c: Comment): void {
    for (const line of c.text.split(/\r?\n/)) this.lines.push('#' + line)
  }

  private entry(e: MapEntry): void {
    this.lines.push(`${keyText(e.key)} = ${this.value(e.value, 'body', '')}`)
  }

  inlineValue(v: Value): string {
    return this.value(v, 'array', '')
  }

  private value(v: Value, ctx: Context, indent: string): string {
    if (v instanceof TreeMap) return this.inlineTable(v)
    if (v instanceof TreeSeq) return this.array(v, ctx, indent)
    if (ctx === 'body' && typeof v === 'string' && v.includes('\n')) return multilineBasicString(v)
    // Only null has no spelling, and refuseNulls ran before any writing.
    return scalarText(v, ctx !== 'inline-table') ?? '""'
  }

  private inlineTable(map: TreeMap): string {
    const parts = map
      .entries()
      .map((e) => `${keyText(e.key)} = ${this.value(e.value, 'inline-table', '')}`)
    return parts.length === 0 ? '{}' : `{ ${parts.join(', ')} }`
  }

  private array(seq: TreeSeq, ctx: Context, indent: string): string {
    const hasComments = seq.items.some((i) => i instanceof Comment)
    const inner: Context = ctx === 'inline-table' ? 'inline-table' : 'array'
    if (!hasComments || ctx === 'inline-table') {
      return '[' + seq.values().map((v) => this.value(v, inner, indent)).join(', ') + ']'
    }
    const step = indent + '  '
    const lines = seq.items.map((i) => (i instanceof Comment ? i.text.split(/\r?\n/).map((l) => `${step}#${l}`).join('\n') : `${step}${this.value(i, inner, step)},`))
    return `[\n${lines.join('\n')}\n${indent}]`
  }
}

function finish(lines: readonly string[]): string {
  return lines.length === 0 ? '' : lines.join('\n') + '\n'
}

/**
 * A null (from YAML or JSON) has no TOML spelling: refuse the whole write, naming the first one's
 * path (keys and indices only, never a value). Iterative, so a deep tree cannot overflow the stack.
 */
function refuseNulls(root: Value, rootPath: string): void {
  const stack: { value: Value; path: string }[] = [{ value: root, path: rootPath }]
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const { value, path } = top
    if (value === null) {
      throw new EmitError(`TOML has no null value: cannot write the null at ${path === '' ? 'the top level' : path}`, {
        hint: 'Give it a value or remove it, or choose an output type that has null (--output-type yaml or json).',
      })
    }
    if (value instanceof TreeMap) {
      const entries = value.entries()
      for (let i = entries.length - 1; i >= 0; i--) stack.push({ value: entries[i]!.value, path: path === '' ? keyText(entries[i]!.key) : `${path}.${keyText(entries[i]!.key)}` })
    } else if (value instanceof TreeSeq) {
      const values = value.values()
      for (let i = values.length - 1; i >= 0; i--) stack.push({ value: values[i]!, path: `${path}[${i}]` })
    }
  }
}

/** A whole document (LF line breaks). */
export function writeDocument(root: TreeMap, options: WriteOptions = {}): string {
  refuseNulls(root, '')
  const w = new TomlWriter(options.reorder ?? false)
  w.section([], root, undefined)
  return finish(w.lines)
}

/** One table with its header, e.g. `[sops]` and its `[[sops.age]]` sub-tables (LF line breaks). */
export function writeTable(path: string[], map: TreeMap, options: WriteOptions = {}): string {
  refuseNulls(map, headerPath(path))
  const w = new TomlWriter(options.reorder ?? false)
  w.section(path, map, `[${headerPath(path)}]`)
  return finish(w.lines)
}


/** One value in TOML spelling (`--extract` of a list or a non-string scalar). */
export function writeValue(v: Value): string {
  refuseNulls(v, '')
  return new TomlWriter(false).inlineValue(v)
}
