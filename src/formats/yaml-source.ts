/**
 * The YAML source as yaml.v3 sees it, for the parser (yaml-parse.ts): line and column of an
 * offset, yaml.v3's other line breaks, and the comments found by the lexer with their positions.
 */
import { Lexer } from 'yaml'
import { asYaml12Breaks } from './yaml-breaks.js'

export class Source {
  private starts: number[] | undefined
  /** What the `yaml` package reads: `original` with yaml.v3's other line breaks as `\n` (yaml-breaks.ts). */
  readonly text: string
  /** Whether `text` differs from `original` (a flag: comparing the strings would cost their length). */
  readonly hasYaml11Breaks: boolean
  constructor(readonly original: string) {
    this.text = asYaml12Breaks(original)
    this.hasYaml11Breaks = this.text !== original
  }
  /** Line start offsets, computed on first use: files without comments or errors never need them. */
  private get lineStarts(): number[] {
    if (this.starts) return this.starts
    const starts = [0]
    for (let i = this.text.indexOf('\n'); i !== -1; i = this.text.indexOf('\n', i + 1)) starts.push(i + 1)
    this.starts = starts
    return starts
  }
  line(offset: number): number {
    const lineStarts = this.lineStarts
    let lo = 0
    let hi = lineStarts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (lineStarts[mid]! <= offset) lo = mid
      else hi = mid - 1
    }
    return lo
  }
  col(offset: number): number {
    return offset - this.lineStarts[this.line(offset)]!
  }
  /** Is there anything but blanks between the start of the line and this offset? */
  contentBefore(offset: number): boolean {
    const start = this.lineStarts[this.line(offset)]!
    return this.text.slice(start, offset).trim().length > 0
  }
}

export interface SourceComment {
  offset: number
  line: number
  col: number
  text: string
  trailing: boolean
}

/** Every comment token of the stream. Lexer control tokens are not part of the source text. */
export function lexComments(src: Source): SourceComment[] {
  const comments: SourceComment[] = []
  // No '#' anywhere means no comment token: skip the second lexing pass (most encrypted files).
  if (!src.text.includes('#')) return comments
  let offset = 0
  for (const token of new Lexer().lex(src.text)) {
    if (token === '\x02' || token === '\x18' || token === '\x1f') continue
    if (token.startsWith('#')) {
      comments.push({
        offset,
        line: src.line(offset),
        col: src.col(offset),
        // yaml.v3 stops a comment at the line break, so a CRLF file leaves no `\r` in it.
        text: token.slice(1).replace(/\r$/, ''),
        trailing: src.contentBefore(offset),
      })
    }
    offset += token.length
  }
  return comments
}
