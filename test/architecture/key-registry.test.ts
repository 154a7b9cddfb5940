// The key registry drives everything about key types (issue #17, points 1 and 3): outside
// src/keys no code names a key type, its flags, env vars or config fields (so nothing compares
// or lists them by hand), every source file is in the registry's list, descriptors stay light
// (the CLI loads them all at start-up), and src/core imports nothing above it.
import { describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import * as registryModule from '../../src/keys/registry.js'
import { KEY_SOURCES } from '../../src/keys/registry.js'
import { REPO_ROOT } from '../helpers/paths.js'

const SRC = path.join(REPO_ROOT, 'src')

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name)
    if (e.isDirectory()) return tsFiles(full)
    return e.name.endsWith('.ts') ? [full] : []
  })
}

const rel = (file: string) => path.relative(REPO_ROOT, file).split(path.sep).join('/')

/** Every name a key source owns: type id, metadata field, flags (with --add-/--rm-), short name, env var, config fields. */
function keyNames(): Set<string> {
  const names = new Set<string>()
  for (const d of KEY_SOURCES) {
    for (const n of [d.type, d.metadataField, d.flag.name, `add-${d.flag.name}`, `rm-${d.flag.name}`, d.flag.env, d.config.field, d.config.groupField]) names.add(n)
  }
  return names
}

/**
 * String literals in code lines (comment lines and trailing `//` comments skipped), with their
 * line numbers. Good enough for this code base's style; a literal the scan misses would still
 * have to get past review.
 */
function stringLiterals(source: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = []
  source.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim()
    if (trimmed.startsWith('*') || trimmed.startsWith('//') || trimmed.startsWith('/*')) return
    const code = raw.replace(/\s\/\/\s.*$/, '')
    for (const m of code.matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|`((?:[^`\\$]|\\.)*)`/g)) {
      out.push({ line: i + 1, text: m[1] ?? m[2] ?? m[3] ?? '' })
    }
  })
  return out
}

/**
 * Deliberate exceptions, each with its reason. The library's `age`/`pgp` options are public API
 * shorthands (EncryptOptions); they do not grow with the key sources (others go through `keys`).
 */
const ALLOWED: readonly { file: string; text: string }[] = [
  { file: 'src/index.ts', text: 'age' },
  { file: 'src/index.ts', text: 'pgp' },
]

describe('the key registry is the only place that names key types', () => {
  it('no key type, key flag, env var or key config field is spelled in src/ outside src/keys', () => {
    const names = keyNames()
    const found: string[] = []
    for (const file of tsFiles(SRC)) {
      const name = rel(file)
      if (name.startsWith('src/keys/')) continue
      for (const { line, text } of stringLiterals(fs.readFileSync(file, 'utf8'))) {
        if (names.has(text) && !ALLOWED.some((a) => a.file === name && a.text === text)) found.push(`${name}:${line}: '${text}'`)
      }
    }
    expect(found).toEqual([])
  })

  it('the scan finds what it looks for: a comparison and a hand list', () => {
    const sample = [
      "if (k.type === 'kms') return",
      "const SPACE_STRIPPED = new Set(['pgp', 'kms', 'gcp_kms'])",
      "// a comment naming 'age' is fine",
      ' * so is a doc line naming `hc_vault`',
    ].join('\n')
    expect(stringLiterals(sample).filter(({ text }) => keyNames().has(text)).map((l) => `${l.line}:${l.text}`)).toEqual(['1:kms', '2:pgp', '2:kms', '2:gcp_kms'])
  })

  it('every descriptor in src/keys/sources is listed in KEY_SOURCES, and the ids are unique', () => {
    const dir = path.join(SRC, 'keys/sources')
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))
    expect(files.length).toBe(KEY_SOURCES.length)
    for (const field of ['type', 'metadataField'] as const) expect(new Set(KEY_SOURCES.map((d) => d[field])).size).toBe(KEY_SOURCES.length)
    expect(new Set(KEY_SOURCES.map((d) => d.flag.name)).size).toBe(KEY_SOURCES.length)
    expect(new Set(KEY_SOURCES.map((d) => d.flag.env)).size).toBe(KEY_SOURCES.length)
    // Exported by name too: that keeps each descriptor (which extends KeyType) in the library's .d.ts.
    const exported = Object.values(registryModule)
    for (const d of KEY_SOURCES) expect(exported.includes(d), d.type).toBe(true)
    const registry = fs.readFileSync(path.join(SRC, 'keys/registry.ts'), 'utf8')
    for (const f of files) expect(registry, f).toContain(`from './sources/${f.replace(/\.ts$/, '.js')}'`)
  })

  // go-text (Go's %q and error wording, no imports but constants) lets a descriptor's checkEntry
  // word a metadata refusal as sops does.
  it('descriptors are light: they import no implementation and no package (only core, the descriptor helpers and go-text)', () => {
    const dir = path.join(SRC, 'keys/sources')
    for (const f of fs.readdirSync(dir)) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8')
      const statics = [...text.matchAll(/^import\s[^;]*?from '([^']+)'/gms)].map((m) => m[1]!)
      for (const spec of statics) expect(spec, `${f} imports ${spec}`).toMatch(/^\.\.\/(descriptor|key-list|types|go-text)\.js$|^\.\.\/\.\.\/core\//)
    }
  })
})

describe('layering', () => {
  it('src/core imports only src/core (and node: or packages)', () => {
    const found: string[] = []
    for (const file of tsFiles(path.join(SRC, 'core'))) {
      const text = fs.readFileSync(file, 'utf8')
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
        const target = path.resolve(path.dirname(file), m[1]!)
        if (!target.startsWith(path.join(SRC, 'core') + path.sep)) found.push(`${rel(file)} imports ${m[1]}`)
      }
    }
    expect(found).toEqual([])
  })

  it('no implementation the registry loads imports the registry back at run time (no cycle)', () => {
    const dir = path.join(SRC, 'keys/sources')
    const loaded = fs.readdirSync(dir).flatMap((f) => [...fs.readFileSync(path.join(dir, f), 'utf8').matchAll(/import\('\.\.\/([^']+)\.js'\)/g)].map((m) => m[1]!))
    expect(loaded.length).toBeGreaterThan(4)
    for (const impl of loaded) expect(fs.readFileSync(path.join(SRC, 'keys', `${impl}.ts`), 'utf8'), `${impl}.ts`).not.toMatch(/^import (?!type )[^;]*from '\.\/registry\.js'/m)
  })
})
