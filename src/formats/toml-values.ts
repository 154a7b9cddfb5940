/**
 * TOML scalars: how a source value becomes a typed Literal (parse and decodeLiteral share this,
 * so the MAC sees the same value on both sides), and how a plain value is spelled back.
 *
 * Type tags are toml-test's type names. `string`, `integer`, `datetime` and the three local
 * kinds are unknown to sops, so a ciphertext written from a plain value (a `set`, a file
 * converted from YAML: `str`, `int`, `time`) can never be mistaken for a TOML spelling.
 * `float` and `bool` coincide with sops's tags; for those decodeLiteral only claims texts that
 * parse as TOML of that kind, which decode to the same value either way (see docs/toml.md).
 */
import type { AST } from 'toml-eslint-parser'
import { parseTomlAst } from './toml-ast.js'
import { Literal, Timestamp, type Scalar } from '../core/tree.js'
import { canonicalTimeText, isInt64 } from '../core/gofmt.js'

export const TOML_TAGS = ['string', 'integer', 'float', 'bool', 'datetime', 'datetime-local', 'date-local', 'time-local'] as const
export type TomlTag = (typeof TOML_TAGS)[number]

const KIND_TAG: Record<AST.TOMLValue['kind'], TomlTag> = {
  string: 'string',
  integer: 'integer',
  float: 'float',
  boolean: 'bool',
  'offset-date-time': 'datetime',
  'local-date-time': 'datetime-local',
  'local-date': 'date-local',
  'local-time': 'time-local',
}

/** A value the source spells but tsops cannot type faithfully (out-of-range int, odd date). */
export class TomlValueError extends Error {}

// TOML 1.1 lets seconds be omitted; the typed value always carries them.
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?$/
const LOCAL_TIME = /^(\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?$/

/** `1979-05-27 07:32Z` -> `1979-05-27T07:32:00Z`: RFC 3339 spelling of a TOML date-time. */
function rfc3339(raw: string): { local: string; zone: string | undefined } {
  const m = DATE_TIME.exec(raw)
  if (!m) throw new TomlValueError(`unsupported date-time ${raw}`)
  const [, date, hm, sec, zone] = m as unknown as [string, string, string, string | undefined, string | undefined]
  return { local: `${date}T${hm}${sec ?? ':00'}`, zone }
}

function offsetDateTime(raw: string): Timestamp {
  const { local, zone } = rfc3339(raw)
  const text = canonicalTimeText(`${local}${zone ?? ''}`)
  if (text === undefined) throw new TomlValueError(`invalid date-time ${raw}`)
  return new Timestamp(text)
}

function localTime(raw: string): string {
  const m = LOCAL_TIME.exec(raw)
  if (!m) throw new TomlValueError(`unsupported local time ${raw}`)
  return `${m[1]}${m[2] ?? ':00'}`
}

function typedValue(node: AST.TOMLValue, raw: string): Exclude<Scalar, null | Literal> {
  switch (node.kind) {
    case 'string':
      return node.value
    case 'integer':
      if (!isInt64(node.bigint)) throw new TomlValueError(`integer ${raw} does not fit in 64 bits`)
      return node.bigint
    case 'float':
      // The parser's own number (nan, inf, -0.0 and 1e400 included), never re-derived from text.
      return node.value
    case 'boolean':
      return node.value
    case 'offset-date-time':
      return offsetDateTime(raw)
    case 'local-date-time':
      return rfc3339(raw).local
    case 'local-date':
      return raw
    case 'local-time':
      return localTime(raw)
  }
}

/** The Literal of a parsed value node; `raw` is its exact source text. */
export function literalOf(node: AST.TOMLValue, raw: string): Literal {
  return new Literal(typedValue(node, raw), raw, KIND_TAG[node.kind])
}

function isTomlTag(type: string): type is TomlTag {
  return (TOML_TAGS as readonly string[]).includes(type)
}

/**
 * A decrypted raw spelling back to the Literal parse produced for it. toml-eslint-parser, not
 * smol-toml, reads it: the two differ on CRLF inside multi-line strings (smol-toml keeps
 * `\r\n`, toml-eslint-parser normalizes to `\n`) and the MAC needs parse's exact value.
 */
export function decodeTomlLiteral(type: string, text: string): Literal | undefined {
  if (!isTomlTag(type)) return undefined
  const node = parseValueText(text)
  if (node === undefined || KIND_TAG[node.kind] !== type) return undefined
  try {
    return literalOf(node, text)
  } catch (err) {
    if (err instanceof TomlValueError) return undefined
    throw err
  }
}

/** The value node of `v = <text>` if text is exactly one TOML scalar, nothing before or after. */
function parseValueText(text: string): AST.TOMLValue | undefined {
  const prefix = 'v = '
  let program: AST.TOMLProgram
  try {
    // The line break: toml-eslint-parser 1.0.3 gives a lone `0` at the end of input no range.
    program = parseTomlAst(prefix + text + '\n')
  } catch {
    return undefined
  }
  const body = program.body[0].body
  const kv = body[0]
  if (body.length !== 1 || kv?.type !== 'TOMLKeyValue' || kv.value.type !== 'TOMLValue') return undefined
  if (program.comments.length > 0) return undefined
  const [start, end] = kv.value.range
  if (start !== prefix.length || end !== prefix.length + text.length) return undefined
  return kv.value
}

// ---- spelling plain values ---------------------------------------------------------------------

const ESCAPES: Record<string, string> = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r', '"': '\\"', '\\': '\\\\' }

function unicodeEscape(ch: string): string {
  return '\\u' + ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')
}

/** A single-line basic string: `"…"` with TOML escapes. */
export function basicString(s: string): string {
  return '"' + s.replace(/[\u0000-\u001f"\\\u007f]/g, (ch) => ESCAPES[ch] ?? unicodeEscape(ch)) + '"'
}

/**
 * A multi-line basic string: `"""` + newline + text + `"""`. The newline after the opening
 * quotes is not part of the value; every `"` is escaped so no run of three can close early.
 */
export function multilineBasicString(s: string): string {
  const body = s.replace(/[\u0000-\u0008\u000b-\u001f"\\\u007f]/g, (ch) => ESCAPES[ch] ?? unicodeEscape(ch))
  return '"""\n' + body + '"""'
}

/** A key, bare when TOML allows it. */
export function keyText(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : basicString(key)
}

export function floatText(n: number): string {
  if (Number.isNaN(n)) return 'nan'
  if (n === Infinity) return 'inf'
  if (n === -Infinity) return '-inf'
  if (Object.is(n, -0)) return '-0.0'
  const s = String(n)
  // TOML reads `3` as an integer; JS exponents (`1e+21`, `1e-7`) are valid TOML floats.
  return /^-?\d+$/.test(s) ? s + '.0' : s
}

/**
 * The TOML spelling of a scalar; undefined for null (TOML has none). Literals keep their source
 * text unless it spans lines and the context is an inline table (no newlines allowed there).
 */
export function scalarText(v: Scalar, multilineOk: boolean): string | undefined {
  if (v === null) return undefined
  if (v instanceof Literal) return multilineOk || !/[\r\n]/.test(v.raw) ? v.raw : scalarText(v.value, false)
  if (typeof v === 'string') return basicString(v)
  if (typeof v === 'bigint') return v.toString()
  if (typeof v === 'number') return floatText(v)
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  if (v instanceof Timestamp) return v.text
  return basicString(Buffer.from(v).toString('utf8'))
}

/** The TOML kind of a value, for "is this still the value the source spelled?" checks. */
export function kindOf(v: Scalar): string {
  if (v instanceof Literal) return v.typeTag ?? kindOf(v.value)
  if (typeof v === 'string') return 'string'
  if (typeof v === 'bigint') return 'integer'
  if (typeof v === 'number') return 'float'
  if (typeof v === 'boolean') return 'bool'
  if (v instanceof Timestamp) return 'datetime'
  if (v === null) return 'null'
  return 'bytes'
}

function plainOf(v: Scalar): Scalar {
  return v instanceof Literal ? v.value : v
}

/** Same kind and same value: the source spelling of `b` still says `a`. */
export function sameScalar(a: Scalar, b: Scalar): boolean {
  if (kindOf(a) !== kindOf(b)) return false
  const x = plainOf(a)
  const y = plainOf(b)
  if (x instanceof Timestamp && y instanceof Timestamp) return x.text === y.text
  if (x instanceof Uint8Array && y instanceof Uint8Array) return Buffer.from(x).equals(Buffer.from(y))
  return Object.is(x, y)
}
