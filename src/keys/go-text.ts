/**
 * Go's wording for the few errors that reach a sops message from its key sources: `%q` quoting,
 * `os.Open` failures, `os/exec` failures and base64's CorruptInputError. Under the name `sops`,
 * tsops prints exactly what sops prints, so these texts are part of the drop-in contract.
 */
import { REQUEST_TIMEOUT_MS } from './timeouts.js'

/** syscall.Errno texts for the errno codes a file open or read can give. */
const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  ENXIO: 'no such device or address',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
}

/** The text Go gives for a node errno error (its message when the code is not one we know). */
export function goErrnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code
  if (code !== undefined && ERRNO_TEXT[code] !== undefined) return ERRNO_TEXT[code]
  return e instanceof Error ? e.message : String(e)
}

/** An *fs.PathError from os.Open: `open PATH: no such file or directory`. */
export function goOpenError(file: string, e: unknown): string {
  return `open ${file}: ${goErrnoText(e)}`
}

const SHORT_ESCAPES: Record<number, string> = { 7: '\\a', 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 0x22: '\\"', 0x5c: '\\\\' }

/**
 * strconv.Quote (`%q`) of raw bytes: invalid UTF-8 bytes as `\xNN`, control characters escaped,
 * printable runes kept. Non-ASCII printability follows Go for the Latin-1 range and keeps the
 * rest as is (a key file or an age header has no reason to hold them).
 */
export function goQuote(input: string | Uint8Array): string {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input)
  let out = '"'
  let i = 0
  while (i < bytes.length) {
    const b = bytes[i]!
    if (b < 0x80) {
      out += SHORT_ESCAPES[b] ?? (b < 0x20 || b === 0x7f ? `\\x${hex2(b)}` : String.fromCharCode(b))
      i++
      continue
    }
    const len = utf8Length(bytes, i)
    if (len === 0) {
      out += `\\x${hex2(b)}`
      i++
      continue
    }
    const ch = bytes.subarray(i, i + len).toString('utf8')
    const c = ch.codePointAt(0)!
    out += (c >= 0x80 && c < 0xa1) || c === 0xad ? `\\u${c.toString(16).padStart(4, '0')}` : ch
    i += len
  }
  return out + '"'
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0')
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there starts none. */
function utf8Length(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!
  const len = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b < 0xe0 ? 2 : 0
  if (len === 0 || b > 0xf4 || i + len > bytes.length) return 0
  for (let k = 1; k < len; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return 0
  const cp = Buffer.from(bytes.subarray(i, i + len)).toString('utf8').codePointAt(0)!
  // Overlong forms and surrogates decode to U+FFFD: Go treats them as invalid bytes.
  if (cp === 0xfffd && !(b === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd)) return 0
  return len
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/**
 * encoding/base64's decoder (StdEncoding with padding, RawStdEncoding without; `.Strict()` unless
 * `strict` is false): the bytes, or Go's `illegal base64 data at input byte N` at Go's offset.
 */
export function goBase64Decode(text: string, padded: boolean, strict = true): { ok: true; bytes: Buffer } | { ok: false; error: string } {
  const corrupt = (offset: number) => ({ ok: false as const, error: `illegal base64 data at input byte ${offset}` })
  const out: number[] = []
  let si = 0
  while (si < text.length) {
    const dbuf = [0, 0, 0, 0]
    let dlen = 4
    let trailing: number | undefined
    for (let j = 0; j < 4; j++) {
      if (si === text.length) {
        if (j === 0) return { ok: true, bytes: Buffer.from(out) }
        if (j === 1 || padded) return corrupt(si - j)
        dlen = j
        break
      }
      const ch = text[si]!
      si++
      const v = B64.indexOf(ch)
      if (v !== -1) {
        dbuf[j] = v
        continue
      }
      if (ch === '\n' || ch === '\r') {
        j--
        continue
      }
      if (!padded || ch !== '=') return corrupt(si - 1)
      if (j < 2) return corrupt(si - 1)
      if (j === 2) {
        while (si < text.length && (text[si] === '\n' || text[si] === '\r')) si++
        if (si === text.length) return corrupt(text.length)
        if (text[si] !== '=') return corrupt(si - 1)
        si++
      }
      while (si < text.length && (text[si] === '\n' || text[si] === '\r')) si++
      if (si < text.length) trailing = si
      dlen = j
      break
    }
    const val = (dbuf[0]! << 18) | (dbuf[1]! << 12) | (dbuf[2]! << 6) | dbuf[3]!
    const b = [(val >>> 16) & 0xff, (val >>> 8) & 0xff, val & 0xff]
    // Strict: the bits a short quantum leaves over must be zero.
    if (strict && dlen === 3 && b[2] !== 0) return corrupt(si - 1)
    if (strict && dlen === 2 && (b[1] !== 0 || b[2] !== 0)) return corrupt(si - 2)
    out.push(...b.slice(0, dlen - 1))
    if (trailing !== undefined) return corrupt(trailing)
    if (dlen < 4) break
  }
  return { ok: true, bytes: Buffer.from(out) }
}

/**
 * encoding/json's Indent(dst, src, "", indent): the same tokens, re-spaced — no re-escaping, key
 * order kept, `{}`/`[]` left compact, leading white space dropped and trailing kept. Undefined
 * when `text` is not JSON (Go then prints it as it is).
 */
export function goJsonIndent(text: string, indent = '  '): string | undefined {
  try {
    JSON.parse(text)
  } catch {
    return undefined
  }
  const body = text.replace(/^[ \t\r\n]+/, '')
  const trailing = /[ \t\r\n]*$/.exec(body)![0]
  const src = body.slice(0, body.length - trailing.length)
  let out = ''
  let depth = 0
  let needIndent = false // an opening bracket was written: a newline comes unless it closes at once
  const newline = () => '\n' + indent.repeat(depth)
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') continue
    if (needIndent && c !== ']' && c !== '}') {
      needIndent = false
      depth++
      out += newline()
    }
    if (c === '"') {
      let j = i + 1
      while (src[j] !== '"') j += src[j] === '\\' ? 2 : 1
      out += src.slice(i, j + 1)
      i = j
    } else if (c === '{' || c === '[') {
      out += c
      needIndent = true
    } else if (c === ',') {
      out += c + newline()
    } else if (c === ':') {
      out += ': '
    } else if (c === '}' || c === ']') {
      if (needIndent) needIndent = false // empty: stays `{}` / `[]`
      else {
        depth--
        out += newline()
      }
      out += c
    } else out += c
  }
  return out + trailing
}

/**
 * Go's *url.Error for an HTTP request that got no answer (fetch failed before a status), as
 * net/http prints it: `Post "URL": dial tcp HOST:PORT: connect: connection refused`.
 */
export function goUrlError(method: 'Get' | 'Post' | 'Put', url: string, e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } } | undefined)?.cause
  const code = cause?.code ?? (e as { code?: string } | undefined)?.code
  const u = new URL(url)
  const hostPort = `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`
  const why =
    code === 'ECONNREFUSED'
      ? `dial tcp ${hostPort}: connect: connection refused`
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? `dial tcp: lookup ${u.hostname}: no such host`
        : (cause?.message ?? (e instanceof Error ? e.message : String(e)))
  return `${method} ${goQuote(url)}: ${why}`
}

/**
 * A fetch to `where` (e.g. `Vault at https://…`) that got no answer: how long tsops waited when
 * its own timeout stopped it, else Go's *url.Error, as the HTTP key sources and publish report it.
 */
export function noAnswerText(e: unknown, method: 'Get' | 'Post' | 'Put', url: string, where: string): string {
  const name = (e as { name?: string } | undefined)?.name
  if (name === 'TimeoutError' || name === 'AbortError') return `${where} did not answer within ${REQUEST_TIMEOUT_MS / 1000}s`
  return goUrlError(method, url, e)
}
