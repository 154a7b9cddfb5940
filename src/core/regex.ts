/**
 * Go RE2 regular expressions. sops matches rules and path_regex with Go's regexp (RE2), so
 * evaluating them with JS RegExp semantics could select different leaves than sops; re2js is
 * a faithful port of RE2.
 */
import { RE2JS } from 're2js'
import { ConfigError } from './errors.js'

export interface Re2 {
  readonly source: string
  /** Unanchored match, like Go's regexp.MatchString. */
  test(s: string): boolean
}

const cache = new Map<string, Re2>()

/** Compile an RE2 pattern; an invalid one is an error that names the setting (never silently unmatched). */
export function compileRe2(pattern: string, what: string): Re2 {
  const cached = cache.get(pattern)
  if (cached) return cached
  let compiled: RE2JS
  try {
    compiled = RE2JS.compile(pattern)
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err)
    throw new ConfigError(`invalid regular expression in ${what} ${JSON.stringify(pattern)}: ${reason}`, {
      hint: 'Patterns use Go RE2 syntax: no lookaround or backreferences.',
    })
  }
  const re: Re2 = { source: pattern, test: (s) => compiled.matcher(s).find() }
  cache.set(pattern, re)
  return re
}
