/**
 * Lines in the format of sops's logger (logrus's text format behind a `[NAME]\t ` prefix), for
 * what sops reports through it rather than as an error message: warnings such as an
 * unencrypted comment, and failures that end in log.Fatal. Run as `sops`, tsops prints these
 * exactly (time included), so tools that parse sops's stderr keep working.
 */

/** logrus quotes a value that holds anything but these characters (TextFormatter.needsQuoting). */
const BARE = /^[A-Za-z0-9\-._/@^+]*$/

/** Go's %q for the strings tsops logs (printable text; controls as \n, \t, \xNN). */
function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u00([0-7][0-9a-f])/g, (_, hex: string) => `\\x${hex}`)
}

function logValue(v: string): string {
  return BARE.test(v) ? v : goQuote(v)
}

/** RFC 3339 in local time, seconds precision, as Go's time.RFC3339 writes it. */
function rfc3339Local(now: Date): string {
  const offset = -now.getTimezoneOffset()
  const local = new Date(now.getTime() + offset * 60_000)
  const stamp = local.toISOString().slice(0, 19)
  if (offset === 0) return `${stamp}Z`
  const sign = offset > 0 ? '+' : '-'
  const abs = Math.abs(offset)
  return `${stamp}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`
}

export type SopsLogger = 'SOPS' | 'CMD'
export type SopsLogLevel = 'warning' | 'fatal'

/** One logger line, newline included: `[SOPS]\t time="…" level=warning msg="…" key=value`. */
export function sopsLogLine(logger: SopsLogger, level: SopsLogLevel, message: string, fields: Record<string, string> = {}, now = new Date()): string {
  const parts = [`time=${logValue(rfc3339Local(now))}`, `level=${level}`, `msg=${logValue(message)}`]
  for (const key of Object.keys(fields).sort()) parts.push(`${key}=${logValue(fields[key]!)}`)
  return `[${logger}]\t ${parts.join(' ')}\n`
}
