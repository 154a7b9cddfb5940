/**
 * The parsed config text plus typed, path-aware accessors. Validation works on plain JS values
 * (aliases and `<<` merge keys already resolved, as yaml.v3 does for sops); the YAML node tree
 * is kept only to point errors at a line and column.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml'
import { ConfigError } from '../core/errors.js'
import { formatPath, type FieldPath } from '../core/field-path.js'

export { formatPath, type FieldPath } from '../core/field-path.js'

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  return `${typeof v} ${JSON.stringify(v)}`
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Receives a remark about the config that does not stop the command (an unknown field). */
export type ConfigWarn = (message: string) => void

export class ConfigSource {
  private constructor(
    readonly file: string,
    readonly value: unknown,
    private readonly doc: Document,
    private readonly lines: LineCounter,
    private readonly warn: ConfigWarn,
  ) {}

  /** Malformed YAML is a ConfigError carrying the parser's line and column. */
  static parse(text: string, file: string, warn: ConfigWarn = () => undefined): ConfigSource {
    const lines = new LineCounter()
    // merge: yaml.v3 (sops) honours `<<: *anchor`; uniqueKeys: yaml.v3 rejects duplicate keys too.
    const doc = parseDocument(text, { lineCounter: lines, merge: true, uniqueKeys: true, prettyErrors: false })
    const first = doc.errors[0]
    if (first) {
      const pos = first.linePos?.[0] ?? lines.linePos(first.pos[0])
      const reason = first.message.split('\n')[0] ?? first.message
      throw new ConfigError(`error loading config: Could not unmarshal config file: ${reason}`, { hint: `in ${file} at line ${pos.line}, column ${pos.col}` })
    }
    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount: 1000 })
    } catch (err) {
      // Only alias bombs and similar resource limits get here.
      throw new ConfigError(`error loading config: ${err instanceof Error ? err.message : String(err)}`, { hint: `in ${file}` })
    }
    return new ConfigSource(file, value, doc, lines, warn)
  }

  /** An error about the value (or, with `at: 'key'`, the key) at `path`, positioned when possible. */
  error(path: FieldPath, message: string, options: { at?: 'key' | 'value'; hint?: string } = {}): ConfigError {
    const where = this.position(path, options.at ?? 'value')
    // sops's words (`error loading config: …`); the file and line only go to the hint, which `tsops` prints.
    const hint = `in ${this.file}${where}${options.hint === undefined ? '' : `. ${options.hint}`}`
    return new ConfigError(`error loading config: ${message}`, { hint })
  }

  /** ` (line L, column C)` of the node at `path`, or '' when it cannot be located. */
  private position(path: FieldPath, at: 'key' | 'value'): string {
    const offset = this.locate(path, at)
    const pos = offset === undefined ? undefined : this.lines.linePos(offset)
    return pos === undefined ? '' : ` (line ${pos.line}, column ${pos.col})`
  }

  /** Best effort: follows maps and lists through aliases; gives up inside merge keys. */
  private locate(path: FieldPath, at: 'key' | 'value'): number | undefined {
    let node: unknown = this.doc.contents
    let keyNode: unknown
    for (const seg of path) {
      node = this.deref(node)
      keyNode = undefined
      if (typeof seg === 'number' && isSeq(node)) {
        node = node.items[seg]
      } else if (typeof seg === 'string' && isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === seg)
        if (!pair) return undefined
        keyNode = pair.key
        node = pair.value
      } else {
        return undefined
      }
    }
    const target = (at === 'key' && keyNode) || node
    return (this.deref(target) as Node | null)?.range?.[0]
  }

  private deref(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.doc) : node
  }

  /**
   * null/absent → undefined; otherwise a mapping. A key outside `known` is ignored, as sops's
   * loader (yaml.v3 into a struct) ignores it, with a warning that names it and its line, since
   * a typo (`encrypt_regex:`) silently changes what gets encrypted.
   */
  map(v: unknown, path: FieldPath, known: readonly string[]): Record<string, unknown> | undefined {
    if (v === null || v === undefined) return undefined
    if (!isRecord(v)) throw this.error(path, `${formatPath(path)} must be a mapping, got ${describe(v)}`)
    for (const key of Object.keys(v)) {
      if (!known.includes(key)) {
        const where = path.length === 0 ? 'at the top level' : `in ${formatPath(path)}`
        const line = this.position([...path, key], 'key')
        this.warn(`${this.file}: ignoring unknown field \`${key}\` ${where}${line}; known fields here: ${known.join(', ')}`)
      }
    }
    return v
  }

  /** null/absent → []. */
  list(v: unknown, path: FieldPath): unknown[] {
    if (v === null || v === undefined) return []
    if (!Array.isArray(v)) throw this.error(path, `${formatPath(path)} must be a list, got ${describe(v)}`)
    return v
  }

  /**
   * null/absent → undefined. yaml.v3 decodes any scalar into a Go string field, so numbers and
   * booleans are accepted by default; `strict` is for sops's `interface{}` key fields, which
   * accept only real strings.
   */
  string(v: unknown, path: FieldPath, strict = false): string | undefined {
    if (v === null || v === undefined) return undefined
    if (typeof v === 'string') return v
    if (!strict && (typeof v === 'number' || typeof v === 'boolean')) return String(v)
    throw this.error(path, `${formatPath(path)} must be a string, got ${describe(v)}`)
  }

  int(v: unknown, path: FieldPath): number | undefined {
    if (v === null || v === undefined) return undefined
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v
    throw this.error(path, `${formatPath(path)} must be an integer, got ${describe(v)}`)
  }

  bool(v: unknown, path: FieldPath): boolean | undefined {
    if (v === null || v === undefined) return undefined
    if (typeof v === 'boolean') return v
    throw this.error(path, `${formatPath(path)} must be true or false, got ${describe(v)}`)
  }
}
