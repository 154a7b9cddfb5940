/**
 * toml-eslint-parser's AST, for texts with tokens of any length.
 *
 * toml-eslint-parser 1.0.3 builds every string and number token as an array of code points and
 * spreads it into String.fromCodePoint(...), which overflows the call stack past ~120,000
 * characters: a long certificate in a TOML string failed as "nested too deeply". Tokens longer
 * than LONG_TOKEN are therefore handed to it as a short token of the same kind padded with
 * spaces (`""`, `0`, `0.0`: every offset stays the same), and the nodes are then given back
 * their real end and value, decoded by smol-toml, which reads long tokens in linear time.
 * Only called on texts smol-toml has already accepted, so the tokens found here are real ones.
 */
import { parseTOML, type AST } from 'toml-eslint-parser'
import { parse as smolParse } from 'smol-toml'

/** Well below the ~120,000 code points that overflow, well above any ordinary value. */
const LONG_TOKEN = 20_000

interface LongToken {
  start: number
  end: number
  kind: 'string' | 'integer' | 'float'
  /** Where the short stand-in ends. */
  shortEnd: number
}

export function parseTomlAst(text: string): AST.TOMLProgram {
  const long = longTokens(text)
  if (long.length === 0) return parseTOML(text)
  let masked = ''
  let pos = 0
  for (const t of long) {
    const stand = t.kind === 'string' ? '""' : t.kind === 'integer' ? '0' : '0.0'
    masked += text.slice(pos, t.start) + stand + ' '.repeat(t.end - t.start - stand.length)
    pos = t.end
  }
  masked += text.slice(pos)
  const program = parseTOML(masked)
  restore(program, text, new Map(long.map((t) => [t.start, t])))
  return program
}

// ---- finding long tokens -------------------------------------------------------------------

/** The end of the string token starting at `i` (a quote). */
function stringEnd(text: string, i: number): number {
  const q = text[i]!
  const triple = text.startsWith(q.repeat(3), i)
  let j = i + (triple ? 3 : 1)
  for (; j < text.length; j++) {
    const c = text[j]
    if (c === '\\' && q === '"') {
      j++
      continue
    }
    if (c !== q) continue
    if (!triple) return j + 1
    if (text.startsWith(q.repeat(3), j)) {
      // Up to two more quotes belong to the content (`""""` ends with one quote inside).
      let end = j + 3
      while (end < text.length && text[end] === q && end - j < 5) end++
      return end
    }
  }
  return text.length
}

const NUMBER_START = /[0-9+-]/
const NUMBER_CHAR = /[0-9A-Za-z_+.:-]/

/** Tokens of `text` longer than LONG_TOKEN, in order (comments and bare keys skipped). */
function longTokens(text: string): LongToken[] {
  const found: LongToken[] = []
  if (text.length <= LONG_TOKEN) return found
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (c === '#') {
      const nl = text.indexOf('\n', i)
      i = nl === -1 ? text.length : nl
    } else if (c === '"' || c === "'") {
      const end = stringEnd(text, i)
      if (end - i > LONG_TOKEN) found.push({ start: i, end, kind: 'string', shortEnd: i + 2 })
      i = end
    } else if (NUMBER_START.test(c)) {
      let end = i + 1
      while (end < text.length && NUMBER_CHAR.test(text[end]!)) end++
      if (end - i > LONG_TOKEN && isValuePosition(text, end)) {
        const raw = text.slice(i, end)
        const kind = /^[+-]?0[xob]/.test(raw) || !/[.eE]/.test(raw) ? 'integer' : 'float'
        found.push({ start: i, end, kind, shortEnd: i + (kind === 'integer' ? 1 : 3) })
      }
      i = end
    } else if (/[A-Za-z_]/.test(c)) {
      while (i < text.length && /[A-Za-z0-9_-]/.test(text[i]!)) i++
    } else {
      i++
    }
  }
  return found
}

/** A key is followed by `=` or `.`; a value is not. */
function isValuePosition(text: string, end: number): boolean {
  let j = end
  while (text[j] === ' ' || text[j] === '\t') j++
  return text[j] !== '=' && text[j] !== '.'
}

// ---- giving the nodes back their tokens ----------------------------------------------------

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

function decodeString(raw: string): string {
  // toml-eslint-parser reads a line break inside a multi-line string as `\n`, smol-toml keeps `\r\n`.
  const text = raw.startsWith('"""') || raw.startsWith("'''") ? raw.replace(/\r\n/g, '\n') : raw
  return smolParse(`v = ${text}`).v as string
}

function restore(program: AST.TOMLProgram, text: string, long: Map<number, LongToken>): void {
  const shortEnds = new Map([...long.values()].map((t) => [t.shortEnd, t.end]))
  const pending: unknown[] = [program]
  while (pending.length > 0) {
    const node = pending.pop() as Mutable<AST.TOMLNode> & Record<string, unknown>
    if (node === null || typeof node !== 'object') continue
    if (Array.isArray(node)) {
      for (const n of node as unknown[]) pending.push(n)
      continue
    }
    if (!('type' in node) || !('range' in node)) continue
    const range = node.range as [number, number]
    const token = long.get(range[0])
    if (token && range[1] === token.shortEnd) patchValue(node, text.slice(token.start, token.end), token)
    const realEnd = shortEnds.get(range[1])
    if (realEnd !== undefined) node.range = [range[0], realEnd]
    for (const key of ['body', 'value', 'key', 'keys', 'elements'] as const) {
      if (key in node && typeof node[key] === 'object') pending.push(node[key])
    }
  }
}

function patchValue(node: Record<string, unknown>, raw: string, token: LongToken): void {
  if (token.kind === 'string') {
    node.value = decodeString(raw)
    return
  }
  const digits = raw.replace(/_/g, '')
  if (token.kind === 'integer') {
    const big = BigInt(digits.startsWith('+') ? digits.slice(1) : digits)
    node.bigint = big
    node.value = Number(big)
    return
  }
  node.value = Number(digits)
}
