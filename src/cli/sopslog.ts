/**
 * How sops prints what does not go through its plain `Error: …` path, so tsops run as `sops`
 * prints the same bytes: logrus lines (`[CMD]\t time="…" level=fatal msg="…"`) for the errors
 * sops hands to log.Fatal and its warnings, and Go's standard `log` lines
 * (`2006/01/02 15:04:05 message`) that updatekeys writes.
 */

/**
 * A line of sops's logger (logrus's text format under the logger's prefix: `[CMD]` for the
 * command line, `[SOPS]` for the tree code): `[CMD]\t time="2026-01-02T03:04:05Z" level=fatal
 * msg="…"`, plus `key=value` fields.
 */
export function sopsLogLine(level: 'fatal' | 'error' | 'warning' | 'info', msg: string, fields: Record<string, string> = {}, now = new Date(), logger: 'CMD' | 'SOPS' | 'PUBLISH' | 'AGE' | 'KEYSERVICE' = 'CMD'): string {
  const extra = Object.entries(fields).map(([k, v]) => ` ${k}=${logrusValue(v)}`).join('')
  return `[${logger}]\t time="${localRFC3339(now)}" level=${level} msg=${logrusValue(msg)}${extra}\n`
}

/** logrus quotes a value (Go %q) unless every character is one of [A-Za-z0-9-._/@^+]. */
function logrusValue(text: string): string {
  return text !== '' && /^[A-Za-z0-9\-._/@^+]+$/.test(text) ? text : goQuote(text)
}

/** Go's strconv.Quote for the characters a message can hold: printable text as is, the rest escaped. */
export function goQuote(text: string): string {
  const named: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\t': '\\t', '\r': '\\r', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\v': '\\v' }
  let out = ''
  for (const c of text) {
    const code = c.codePointAt(0)!
    if (named[c] !== undefined) out += named[c]
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`
    else if (code >= 0x80 && code < 0xa0) out += `\\u00${code.toString(16).padStart(2, '0')}`
    else out += c
  }
  return `"${out}"`
}

/** Go's time.Now().Format(RFC3339): local time with its offset (`Z` in UTC). */
export function localRFC3339(now: Date): string {
  const offset = -now.getTimezoneOffset()
  const pad = (n: number) => String(Math.abs(n)).padStart(2, '0')
  const zone = offset === 0 ? 'Z' : `${offset > 0 ? '+' : '-'}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}T${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}${zone}`
}

/** A line of Go's standard logger: `2006/01/02 15:04:05 message`, local time. */
export function goLogLine(message: string, now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${now.getFullYear()}/${pad(now.getMonth() + 1)}/${pad(now.getDate())} ${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())} ${message}\n`
}
