/**
 * The docs' command lines stay true: every `tsops …` / `sops …` line in a shell block of the README
 * or docs/ names a command that exists and flags that command accepts (its help lists them, and
 * help is generated from the parser's table). Output the docs quote after `# ` for --version is
 * checked against the real CLI.
 */
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { parseArgs } from '../../src/cli/args.js'
import { COMMANDS, GLOBAL_FLAGS, findCommand, type CommandHelp } from '../../src/cli/help.js'
import { runCli } from '../helpers/cli.js'
import { REPO_ROOT as repoRoot } from '../helpers/paths.js'

const SHELL_BLOCK = /^```(sh|bash|shell|console)\s*$/
/** Words that end one simple command and start the next. */
const SEPARATORS = new Set(['&&', '||', '|', ';', '&'])
const REDIRECTION = /^(\d?>>?|<|\d?>&\d|&>)$/
/** sops's commands that tsops also accepts by name. */
const SOPS_ONLY = new Set(['keyservice'])

interface DocLine {
  file: string
  line: number
  text: string
}

function docFiles(): string[] {
  const docs = fs.readdirSync(path.join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f))
  return ['README.md', ...docs.sort()]
}

/** Lines of shell blocks, continuation lines joined, prompts stripped. */
function shellLines(file: string): DocLine[] {
  const lines = fs.readFileSync(path.join(repoRoot, file), 'utf8').split('\n')
  const out: DocLine[] = []
  let inBlock = false
  let pending: DocLine | undefined
  lines.forEach((raw, i) => {
    if (/^```/.test(raw)) {
      inBlock = !inBlock && SHELL_BLOCK.test(raw)
      pending = undefined
      return
    }
    if (!inBlock) return
    const text = raw.replace(/^\s*\$ /, '')
    const joined: DocLine = pending ? { ...pending, text: pending.text + ' ' + text.trim() } : { file, line: i + 1, text }
    if (/\\$/.test(joined.text)) pending = { ...joined, text: joined.text.slice(0, -1) }
    else {
      pending = undefined
      out.push(joined)
    }
  })
  return out
}

/** Shell words with quotes removed; a word of `$(…)` is kept whole; `#` at a word start ends the line. */
function words(text: string): string[] {
  const out: string[] = []
  let cur = ''
  let started = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (c === "'") {
      const end = text.indexOf("'", i + 1)
      cur += text.slice(i + 1, end === -1 ? undefined : end)
      i = end === -1 ? text.length : end
      started = true
    } else if (c === '"') {
      let j = i + 1
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\' && j + 1 < text.length) j++
        cur += text[j]
        j++
      }
      i = j
      started = true
    } else if (c === '$' && text[i + 1] === '(') {
      let depth = 0
      let j = i
      for (; j < text.length; j++) {
        if (text[j] === '(') depth++
        if (text[j] === ')' && --depth === 0) break
      }
      cur += text.slice(i, j + 1)
      i = j
      started = true
    } else if (c === ' ' || c === '\t') {
      if (started) out.push(cur)
      cur = ''
      started = false
    } else if (c === '#' && !started) break
    else if (c === '\\' && i + 1 < text.length) {
      cur += text[++i]
      started = true
    } else {
      cur += c
      started = true
    }
  }
  if (started) out.push(cur)
  return out
}

/** The argv of every tsops/sops invocation on the line (after `VAR=x` assignments), redirections removed. */
function invocations(text: string): string[][] {
  const found: string[][] = []
  let segment: string[] = []
  const flush = () => {
    let k = 0
    while (k < segment.length && /^[A-Z_][A-Z0-9_]*=/.test(segment[k]!)) k++
    if (segment[k] === 'env' || segment[k] === 'exec' || segment[k] === 'npx') k++
    const program = segment[k]
    if (program === 'tsops' || program === 'sops') {
      const argv: string[] = []
      const rest = segment.slice(k + 1)
      for (let j = 0; j < rest.length; j++) {
        const w = rest[j]!
        if (REDIRECTION.test(w)) j++
        else if (/^\d?>>?\S|^<\S/.test(w)) continue
        else argv.push(w)
      }
      found.push(argv)
    }
    segment = []
  }
  for (const w of words(text)) {
    if (SEPARATORS.has(w)) flush()
    else segment.push(w)
  }
  flush()
  return found
}

/** The command a parsed command line runs and the flags it accepts; undefined for the legacy style. */
function commandOf(positionals: readonly string[]): CommandHelp | undefined {
  const first = positionals[0]
  if (first === undefined || !COMMANDS.some((c) => c.name === first || c.aliases?.includes(first))) return undefined
  const found = findCommand(positionals.slice(0, 2))
  if ('unknown' in found) return findCommand([first]) as unknown as CommandHelp
  return found.command
}

const allLines = docFiles().flatMap(shellLines)
const calls = allLines.flatMap((l) => invocations(l.text).map((argv) => ({ ...l, argv })))

describe('the docs name commands and flags that exist', () => {
  test('the docs hold enough command lines for this check to mean something', () => {
    expect(calls.length).toBeGreaterThan(40)
  })

  test.each(calls.map((c) => [`${c.file}:${c.line}`, c] as const))('%s', (_where, call) => {
    const parsed = parseArgs(call.argv) // throws on an unknown flag or a missing value
    const first = parsed.positionals[0]
    const command = commandOf(parsed.positionals)
    if (first !== undefined && command === undefined && /^[a-z][a-z-]*$/.test(first) && !first.includes('.')) {
      // A bare word that is not a command would be read as a file to edit: only sops's own commands pass.
      expect(SOPS_ONLY.has(first), `${call.text}: '${first}' is not a command`).toBe(true)
    }
    const accepted = new Set<string>([...GLOBAL_FLAGS, ...(command?.flags ?? [])])
    for (const flag of parsed.flags.keys()) {
      expect(accepted.has(flag), `${call.text}: --${flag} is not a flag of ${command?.name ?? 'the legacy style'}`).toBe(true)
    }
  })
})

describe('output the docs quote', () => {
  const versionLines = allLines.filter((l) => /^\s*(tsops|sops) --version\s+#\s/.test(l.text))

  test.each(versionLines.map((l) => [`${l.file}:${l.line}`, l] as const))('%s', async (_where, l) => {
    const [, program, expected] = /^\s*(tsops|sops) --version\s+#\s*(.*)$/.exec(l.text)!
    const r = await runCli(['--version'], program === 'sops' ? { command: [process.execPath, path.join(repoRoot, 'bin/sops')] } : {})
    expect(r.stdout.toString().trim()).toBe(expected!.trim())
  })
})
