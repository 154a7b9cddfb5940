/**
 * Go RE2 regular expressions. sops matches rules and path_regex with Go's regexp (RE2), so
 * evaluating them with JS RegExp semantics could select different leaves than sops; re2js is
 * a faithful port of RE2.
 */
import { createRequire } from 'node:module'
import type { RE2JS } from 're2js'
import { ConfigError } from './errors.js'

type Re2Module = typeof import('re2js')

let re2: Re2Module | undefined
/**
 * re2js is ~150 KB of code; most runs (every decrypt of a file without regex rules) never need
 * it, so it is required on first use instead of at start-up. A plain require keeps compileRe2
 * synchronous; in the CLI it is a vendored bundle with a code cache of its own.
 */
function loadRe2(): Re2Module {
  re2 ??= (typeof __tsopsVendor === 'function' ? __tsopsVendor('re2js') : createRequire(import.meta.url)('re2js')) as Re2Module
  return re2
}

/** Set in the CLI bundles (scripts/bundle.mjs): loads a vendored package through the launcher's code cache. */
declare const __tsopsVendor: ((name: string) => unknown) | undefined

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
    compiled = loadRe2().RE2JS.compile(pattern)
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
