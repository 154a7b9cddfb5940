/**
 * `.sops.yaml` path_regex (Go RE2, unanchored, matched against the path relative to the
 * config's directory) -> `.gitattributes` patterns (wildmatch: `*` and `?` stay inside one path
 * segment, `**` spans directories only in the `**\/`, `/**\/`, `/**` positions).
 *
 * Only exact translations are produced: the union of the returned patterns matches exactly the
 * paths the regex matches (tests check this against RE2 with `git check-attr`). A regex outside
 * the supported subset returns undefined and the caller falls back (install.ts).
 *
 * Supported: literals and escaped punctuation, `^` / `$` at the ends, `.` , `.*`, `.+`,
 * `[^/]*`, `[^/]+`, simple positive classes like `[a-z0-9]`, `?` on any atom, alternation and
 * groups (`(a|b)`, `(?:…)`), lazy quantifiers. Everything else (`\d`, `{n}`, `x*` on a literal,
 * flags, negated classes other than `[^/]`) is refused.
 */

type Token =
  | { t: 'lit'; s: string }
  /** `.*`: any string, across `/` */
  | { t: 'any' }
  /** `[^/]*` */
  | { t: 'seg' }
  /** one character that is not `/` (glob `?`), or a class (glob `[…]`) */
  | { t: 'one'; glob: string }
  | { t: 'start' }
  | { t: 'end' }

type Alternatives = Token[][]

const MAX_ALTERNATIVES = 32

class Unsupported extends Error {}

function fail(): never {
  throw new Unsupported()
}

function product(a: Alternatives, b: Alternatives): Alternatives {
  const out: Alternatives = []
  for (const x of a) for (const y of b) out.push([...x, ...y])
  if (out.length > MAX_ALTERNATIVES) fail()
  return out
}

/** A recursive-descent reader for the supported RE2 subset, expanding into token sequences. */
class Parser {
  private i = 0
  constructor(private readonly src: string) {}

  parse(): Alternatives {
    const alts = this.alternation()
    if (this.i !== this.src.length) fail()
    return alts
  }

  private peek(): string | undefined {
    return this.src[this.i]
  }

  private alternation(): Alternatives {
    let alts = this.sequence()
    while (this.peek() === '|') {
      this.i++
      alts = [...alts, ...this.sequence()]
      if (alts.length > MAX_ALTERNATIVES) fail()
    }
    return alts
  }

  private sequence(): Alternatives {
    let acc: Alternatives = [[]]
    for (let c = this.peek(); c !== undefined && c !== '|' && c !== ')'; c = this.peek()) acc = product(acc, this.quantified())
    return acc
  }

  /** An atom with its quantifier, as alternatives. */
  private quantified(): Alternatives {
    const atom = this.atom()
    const q = this.peek()
    if (q !== '*' && q !== '+' && q !== '?') {
      if (q === '{') fail()
      return atom.alts
    }
    this.i++
    if (this.peek() === '?') this.i++ // lazy: the same set of matches
    if (q === '?') return [[], ...atom.alts]
    // `*` / `+` only on "any char" and "any char but /".
    if (atom.kind === 'dot') return q === '*' ? [[{ t: 'any' }]] : product([[{ t: 'one', glob: '?' }], [{ t: 'lit', s: '/' }]], [[{ t: 'any' }]])
    if (atom.kind === 'notslash') return q === '*' ? [[{ t: 'seg' }]] : [[{ t: 'one', glob: '?' }, { t: 'seg' }]]
    return fail()
  }

  private atom(): { kind: 'dot' | 'notslash' | 'other'; alts: Alternatives } {
    const c = this.src[this.i++]
    switch (c) {
      case '^':
        return { kind: 'other', alts: [[{ t: 'start' }]] }
      case '$':
        return { kind: 'other', alts: [[{ t: 'end' }]] }
      // `.` is either one non-slash character or a slash: exact as two alternatives.
      case '.':
        return { kind: 'dot', alts: [[{ t: 'one', glob: '?' }], [{ t: 'lit', s: '/' }]] }
      case '(': {
        if (this.src.startsWith('?:', this.i)) this.i += 2
        else if (this.peek() === '?') fail() // flags, named groups
        const alts = this.alternation()
        if (this.src[this.i++] !== ')') fail()
        return { kind: 'other', alts }
      }
      case '[':
        return this.charClass()
      case '\\': {
        const e = this.src[this.i++]
        if (e === undefined || /[A-Za-z0-9]/.test(e)) fail() // \d \w \s \b \Q …
        return { kind: 'other', alts: [[{ t: 'lit', s: e }]] }
      }
      case undefined:
      case ')':
      case '*':
      case '+':
      case '?':
      case '{':
      case '|':
        return fail()
      default:
        return { kind: 'other', alts: [[{ t: 'lit', s: c }]] }
    }
  }

  private charClass(): { kind: 'notslash' | 'other'; alts: Alternatives } {
    const close = this.src.indexOf(']', this.i + 1)
    if (close === -1) fail()
    const body = this.src.slice(this.i, close)
    this.i = close + 1
    if (body === '^/') return { kind: 'notslash', alts: [[{ t: 'one', glob: '?' }]] }
    // Positive classes of letters, digits, ranges of them, `.`, `_` and `-` only.
    if (!/^[A-Za-z0-9._-]+$/.test(body) || body.startsWith('-')) fail()
    return { kind: 'other', alts: [[{ t: 'one', glob: `[${body}]` }]] }
  }
}

/** Characters a literal may hold in a pattern (no whitespace, quotes or pattern syntax). */
const SAFE_LITERAL = /^[^\s"'\\*?[\]!#]*$/

/** Normalise one alternative: implicit `.*` at unanchored ends, literals merged, wildcards collapsed. */
function normalise(tokens: Token[]): Token[] {
  const body = [...tokens]
  if (body[0]?.t === 'start') body.shift()
  else body.unshift({ t: 'any' })
  if (body[body.length - 1]?.t === 'end') body.pop()
  else body.push({ t: 'any' })
  const out: Token[] = []
  for (const tok of body) {
    if (tok.t === 'start' || tok.t === 'end') fail() // an anchor in the middle
    const prev = out[out.length - 1]
    if (tok.t === 'lit' && prev?.t === 'lit') out[out.length - 1] = { t: 'lit', s: prev.s + tok.s }
    else if ((tok.t === 'any' || tok.t === 'seg') && (prev?.t === 'any' || prev?.t === 'seg')) {
      if (tok.t === 'any') out[out.length - 1] = tok
    } else out.push(tok)
  }
  return out
}

/**
 * Glob pieces for each token; `.*` becomes one exact piece when a `/` or an end is beside it,
 * else a choice between "within this segment" and "across segments".
 */
function piecesOf(tokens: Token[]): string[][] {
  return tokens.map((tok, k) => {
    if (tok.t === 'lit') {
      if (!SAFE_LITERAL.test(tok.s)) fail()
      return [tok.s]
    }
    if (tok.t === 'seg') return ['*']
    if (tok.t === 'one') return [tok.glob]
    if (tok.t !== 'any') return fail()
    const prev = tokens[k - 1]
    const next = tokens[k + 1]
    const leftSlash = prev === undefined || (prev.t === 'lit' && prev.s.endsWith('/'))
    const rightSlash = next !== undefined && next.t === 'lit' && next.s.startsWith('/')
    if (leftSlash && next === undefined) return ['**']
    if (leftSlash) return ['**/*']
    if (rightSlash) return ['*/**']
    if (next === undefined) return ['*', '*/**']
    return ['*', '*/**/*']
  })
}

function combine(pieces: string[][]): string[] {
  let out = ['']
  for (const choices of pieces) {
    out = out.flatMap((p) => choices.map((c) => p + c))
    if (out.length > MAX_ALTERNATIVES) fail()
  }
  return out
}

/** Make a pattern mean "this path relative to the .gitattributes directory", and tidy it. */
function finish(pattern: string): string {
  if (pattern === '' || pattern === '**') fail() // matches nothing / everything: not a selection
  // An empty path segment, or a leading `/` from the regex itself (only absolute paths, i.e.
  // files outside the config's directory, could match): no file in the repository matches.
  if (pattern.includes('//') || pattern.startsWith('/')) return ''
  // `**/X` with no other slash is git's "basename at any depth" pattern `X`.
  if (pattern.startsWith('**/') && !pattern.slice(3).includes('/')) return pattern.slice(3)
  return pattern.includes('/') ? pattern : `/${pattern}`
}

/** The .gitattributes patterns that match exactly what `pathRegex` matches, or undefined. */
export function regexToGlobs(pathRegex: string): string[] | undefined {
  try {
    const globs = new Set<string>()
    for (const alt of new Parser(pathRegex).parse()) {
      for (const g of combine(piecesOf(normalise(alt)))) {
        const p = finish(g)
        if (p !== '') globs.add(p)
      }
    }
    return globs.size > 0 ? [...globs] : undefined
  } catch (err) {
    if (err instanceof Unsupported) return undefined
    throw err
  }
}
