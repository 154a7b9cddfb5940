/**
 * Where a parse failed, shown as eemeli/yaml's prettifyError shows it: the line, and a caret
 * under the column. For the `tsops` persona only (FormatError.excerpt, printed after the hint);
 * sops prints no such thing.
 *
 * The line is the input's, and the input is usually a plaintext full of secrets (a file about to
 * be encrypted), or an encrypted file whose comments may be plaintext. So the excerpt is masked:
 * every character becomes `*` except whitespace and the characters that give the formats their
 * structure (quotes, brackets, `:`, `=`, `,`, `#`, `;`, and a YAML list's `- `), which are what a
 * parse error is about.
 * What remains shows the shape of the line (an unclosed quote, a value where a key should be)
 * and never its text. Long lines are cut to a window around the column.
 */
import { FormatError } from '../core/errors.js'

/** Kept as they are; everything else but whitespace is masked. */
const STRUCTURE = new Set([...'{}[]()"\':=,#;'])
/** Characters shown on either side of the column when the line is longer than a terminal. */
const WINDOW = 40
const MASK = '*'

/**
 * Run `parse` over `bytes`; a FormatError with a line that escapes it leaves with its excerpt
 * (unless it has one already, from an inner call).
 */
export function parseShowingWhere<T>(bytes: Uint8Array, parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    if (err instanceof FormatError && err.line !== undefined && err.excerpt === undefined) err.excerpt = caretExcerpt(bytes, err.line, err.column)
    throw err
  }
}

/**
 * The masked line `line` (1-based) of `bytes`, and when `column` (1-based, in characters) is
 * known, a caret under it. Undefined when the input has no such line or it is empty.
 */
export function caretExcerpt(bytes: Uint8Array, line: number, column?: number): string | undefined {
  const text = lineAt(bytes, line)
  // An empty line (the end of the input, typically) has nothing to show.
  if (text === undefined || text === '') return undefined
  const chars = [...text]
  const at = column === undefined ? undefined : Math.min(Math.max(column - 1, 0), chars.length)
  const from = at !== undefined && chars.length > 2 * WINDOW ? Math.max(0, at - WINDOW) : 0
  const to = Math.min(chars.length, from + 2 * WINDOW)
  const shown = chars.slice(from, to).map((c, i) => mask(c, chars[from + i + 1]))
  const before = from > 0 ? '…' : ''
  const after = to < chars.length ? '…' : ''
  const masked = `${before}${shown.join('')}${after}`
  if (at === undefined) return masked
  // The caret line repeats the tabs before the column, so it lines up under a tab-indented line.
  const pad = shown
    .slice(0, at - from)
    .map((c) => (c === '\t' ? '\t' : ' '))
    .join('')
  return `${masked}\n${before ? ' ' : ''}${pad}^`
}

/** `next`: the character after `c` (a `-` before a space or the end is a YAML list's dash). */
function mask(c: string, next: string | undefined): string {
  if (/\s/u.test(c) || STRUCTURE.has(c)) return c
  if (c === '-' && (next === undefined || /\s/u.test(next))) return c
  return MASK
}

/** Line `n` (1-based) without its line break, found in one pass over the bytes. */
function lineAt(bytes: Uint8Array, n: number): string | undefined {
  let start = 0
  for (let i = 1; i < n; i++) {
    const nl = bytes.indexOf(0x0a, start)
    if (nl === -1) return undefined
    start = nl + 1
  }
  if (start > bytes.length) return undefined
  const nl = bytes.indexOf(0x0a, start)
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset + start, (nl === -1 ? bytes.length : nl) - start).toString('utf8')
  return raw.endsWith('\r') ? raw.slice(0, -1) : raw
}
