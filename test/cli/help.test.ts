// Help per command and shell completion (issue 14, point 3): the help is generated from the flag
// table the parser uses, every command lists the flags its source reads, and `completion bash`
// prints a script bash accepts and that completes through `--generate-bash-completion`.
import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { Args, FLAGS, parseArgs, type FlagName } from '../../src/cli/args.js'
import { COMMANDS, GLOBAL_FLAGS, type CommandHelp } from '../../src/cli/help.js'
import { suggest } from '../../src/cli/commands/completion.js'
import { KEY_SOURCES } from '../../src/keys/registry.js'
import { runCli } from '../helpers/cli.js'
import { CLI, REPO_ROOT } from '../helpers/paths.js'
import { tempWorkspace } from '../helpers/workspace.js'

const COMMAND_DIR = path.join(REPO_ROOT, 'src/cli/commands')

/** Every flag a command takes, with its subcommands'. */
const flagsOf = (c: CommandHelp): Set<string> => new Set([...c.flags, ...(c.subcommands ?? []).flatMap((s) => s.flags)])

/** Flags read by name in a source file: args.bool('x'), args.string('x'), args.list('x'), args.int('x'), args.has('x'). */
function literalReads(file: string): string[] {
  const source = fs.readFileSync(file, 'utf8')
  return [...source.matchAll(/\bargs\.(?:bool|string|list|int|has|beforeCommand)\('([a-z-]+)'\)/g)].map((m) => m[1]!)
}

/** The command whose help covers a module: terraform.ts is `decrypt --terraform`. */
const HELP_OF_MODULE: Record<string, string> = { terraform: 'decrypt' }
/** Global flags a command module checks to know how it was called (`-r`, `--set`, `--help`). */
const GLOBAL_READS: Record<string, string[]> = { rotate: ['rotate'], set: ['set'], help: ['help'] }

describe('help is generated from the flag table', () => {
  it('lists every flag of the parser in some command or in the global options', () => {
    const documented = new Set<string>([...GLOBAL_FLAGS, ...COMMANDS.flatMap((c) => [...flagsOf(c)])])
    const missing = Object.keys(FLAGS).filter((f) => !documented.has(f))
    expect(missing).toEqual([])
  })

  it('lists, for each command, every flag its module reads by name', () => {
    const modules = fs.readdirSync(COMMAND_DIR).filter((f) => f.endsWith('.ts'))
    expect(modules.length).toBeGreaterThan(10)
    for (const file of modules) {
      const module = path.basename(file, '.ts')
      const name = HELP_OF_MODULE[module] ?? module
      const command = COMMANDS.find((c) => c.name === name)
      expect(command, `no help entry for src/cli/commands/${file}`).toBeDefined()
      const listed = flagsOf(command!)
      const unlisted = literalReads(path.join(COMMAND_DIR, file)).filter((f) => !listed.has(f) && !(GLOBAL_READS[module] ?? []).includes(f))
      expect(unlisted, `src/cli/commands/${file} reads flags its help does not list`).toEqual([])
    }
  })

  it('lists the flags rotate and groups read through a loop over the key types', () => {
    const rotate = flagsOf(COMMANDS.find((c) => c.name === 'rotate')!)
    const groupsAdd = COMMANDS.find((c) => c.name === 'groups')!.subcommands!.find((s) => s.name === 'add')!
    for (const { flag } of KEY_SOURCES) {
      expect(rotate.has(`add-${flag.name}`) && rotate.has(`rm-${flag.name}`), flag.name).toBe(true)
      expect(groupsAdd.flags).toContain(flag.name as FlagName)
    }
  })

  it('--enable-local-keyservice takes no value, as in sops (its help shows none)', () => {
    // Before: a string flag, so `decrypt --enable-local-keyservice f.yaml` swallowed the file name.
    expect(parseArgs(['decrypt', '--enable-local-keyservice', 'f.yaml']).positionals).toEqual(['decrypt', 'f.yaml'])
  })

  it('the main module reads only global flags', () => {
    const unlisted = literalReads(path.join(REPO_ROOT, 'src/cli/main.ts')).filter((f) => !GLOBAL_FLAGS.includes(f as FlagName) && f !== 'terraform')
    expect(unlisted).toEqual([])
  })
})

describe('tsops help CMD, tsops CMD --help', () => {
  // The flags the issue found in no help at all, by the command that takes them.
  const ISSUE_FLAGS: [string[], string[]][] = [
    [['set'], ['--value-file', '--value-stdin', '--idempotent']],
    [['unset'], ['--idempotent']],
    [['exec-env'], ['--pristine', '--same-process', '--user']],
    [['exec-file'], ['--no-fifo', '--filename value']],
    [['decrypt'], ['--output-dir value', '--extract value']],
    [['rotate'], ['--add-age value', '--rm-age value', '--add-pgp value', '--rm-hckms value']],
    [['updatekeys'], ['--yes, -y']],
    [['groups', 'add'], ['--file value, -f value']],
    [['groups', 'delete'], ['--file value, -f value']],
    [['check'], ['--verify-mac', '--json', '--since value']],
    [['edit'], ['--show-master-keys, -s']],
  ]

  it.each(ISSUE_FLAGS)('%j shows its usage and its flags', async (words, flags) => {
    const viaFlag = await runCli([...words, '--help'])
    expect(viaFlag.code).toBe(0)
    const text = viaFlag.stdout.toString()
    expect(text).toContain(`NAME:\n   tsops ${words.join(' ')} - `)
    expect(text).toContain(`USAGE:\n   tsops ${words.join(' ')} [command options]`)
    for (const f of flags) expect(text).toContain(`   ${f}`)
    // The same text through `help CMD` and `-h`.
    expect((await runCli(['help', ...words])).stdout.toString()).toBe(text)
    expect((await runCli([...words, '-h'])).stdout.toString()).toBe(text)
  })

  it('every command shows its own text, listing each flag it takes with its description', async () => {
    const texts = new Set<string>()
    for (const command of COMMANDS) {
      const r = await runCli([command.name, '--help'])
      expect(r.code, command.name).toBe(0)
      const text = r.stdout.toString()
      texts.add(text)
      for (const flag of command.flags) expect(text, `${command.name} --${flag}`).toMatch(new RegExp(`^   --${flag}\\b.*  \\S`, 'm'))
      for (const sub of command.subcommands ?? []) expect(text, `${command.name} ${sub.name}`).toContain(`   ${sub.name} `)
    }
    expect(texts.size).toBe(COMMANDS.length)
  })

  it('the global help lists the commands and the global flags', async () => {
    const r = await runCli(['--help'])
    expect(r.code).toBe(0)
    const text = r.stdout.toString()
    for (const command of COMMANDS) expect(text).toMatch(new RegExp(`^   ${command.name}\\b`, 'm'))
    for (const flag of GLOBAL_FLAGS) expect(text).toMatch(new RegExp(`^   --${flag}\\b`, 'm'))
    // A file name is no help topic: sops's legacy `sops FILE --help` asks for the global help.
    expect((await runCli(['secrets', '--help'])).stdout.toString()).toBe(text)
  })

  it('an unknown topic is urfave/cli\'s "No help topic", exit 3', async () => {
    const r = await runCli(['help', 'nope'])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain("No help topic for 'nope'")
    expect(r.stdout.length).toBe(0)
  })
})

describe('key flags come from the key registry', () => {
  // Every key source's flags, short names and env vars, by the commands that take them (sops's
  // encrypt/edit take the key flags, rotate the --add-/--rm- forms, groups add the key flags
  // without env vars; the global options list them all).
  const keyFlag = (name: string, short?: string) => `   --${name} value${short ? `, -${short} value` : ''}  `
  const TAKES: [string[], (d: (typeof KEY_SOURCES)[number]) => string[]][] = [
    [['encrypt'], ({ flag }) => [keyFlag(flag.name, flag.short), `[$${flag.env}]`]],
    [['edit'], ({ flag }) => [keyFlag(flag.name, flag.short), `[$${flag.env}]`]],
    [['rotate'], ({ flag }) => [keyFlag(`add-${flag.name}`), keyFlag(`rm-${flag.name}`)]],
    [['groups', 'add'], ({ flag }) => [keyFlag(flag.name, flag.short)]],
    [[], ({ flag }) => [keyFlag(flag.name, flag.short), `[$${flag.env}]`, keyFlag(`add-${flag.name}`), keyFlag(`rm-${flag.name}`)]],
  ]

  it.each(TAKES)('%j --help shows every key source\'s flags', async (words, expected) => {
    const text = (await runCli([...words, '--help'])).stdout.toString()
    for (const d of KEY_SOURCES) for (const line of expected(d)) expect(text, `${words.join(' ')}: ${d.type}`).toContain(line)
  })

  it('no key flag or short name collides with another flag (the parser would silently take one for the other)', () => {
    const shorts = Object.values(FLAGS).flatMap((spec) => (spec.short ? [spec.short] : []))
    expect(shorts.length - new Set(shorts).size).toBe(0)
    const keyFlags = KEY_SOURCES.flatMap(({ flag }) => [flag.name, `add-${flag.name}`, `rm-${flag.name}`])
    expect(new Set(keyFlags).size).toBe(keyFlags.length)
    // Each key flag is the key source's: same kind and env var as the registry says.
    for (const { flag } of KEY_SOURCES) expect(FLAGS[flag.name], flag.name).toEqual({ kind: 'list', env: flag.env, ...(flag.short ? { short: flag.short } : {}) })
  })

  it('the parser takes each of them, the short names and the env vars', () => {
    for (const { flag } of KEY_SOURCES) {
      const argv = [`--${flag.name}`, 'a', `--add-${flag.name}`, 'b', `--rm-${flag.name}`, 'c', ...(flag.short ? [`-${flag.short}`, 'd'] : [])]
      const parsed = parseArgs(argv)
      expect(parsed.flags.get(flag.name), flag.name).toEqual(flag.short ? ['a', 'd'] : ['a'])
      expect([parsed.flags.get(`add-${flag.name}`), parsed.flags.get(`rm-${flag.name}`)]).toEqual([['b'], ['c']])
      expect(new Args(parseArgs([]), { [flag.env]: 'x, y' }).list(flag.name), flag.env).toEqual(['x', 'y'])
    }
  })
})

describe('the start-up bundle', () => {
  it('carries no help text: help and completion are handed over to the complete CLI', async () => {
    const startup = fs.readFileSync(path.join(path.dirname(CLI), 'main.cjs'), 'latin1')
    const full = fs.readFileSync(path.join(path.dirname(CLI), 'full.cjs'), 'latin1')
    for (const text of ['avoids leaking secrets in process listings', 'Shows a list of commands', '_cli_bash_autocomplete']) {
      expect(startup, text).not.toContain(text)
      expect(full, text).toContain(text)
    }
    // and yet `decrypt --help` (a start-up command word) shows decrypt's help.
    const r = await runCli(['decrypt', '--help'])
    expect(r.stdout.toString()).toContain('NAME:\n   tsops decrypt - ')
  })
})

describe('tsops completion', () => {
  const { dir: tmp } = tempWorkspace('tsops-completion-')
  // `tsops` on PATH, as the completion script calls the program back by the name typed.
  fs.writeFileSync(path.join(tmp, 'tsops'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`, { mode: 0o755 })
  const bash = (script: string) => spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { PATH: `${tmp}:${process.env.PATH}`, HOME: tmp } })

  it('bash: the script passes bash -n and registers a completion for tsops', async () => {
    const r = await runCli(['completion', 'bash'])
    expect(r.code).toBe(0)
    const script = path.join(tmp, 'tsops.bash')
    fs.writeFileSync(script, r.stdout)
    expect(bash(`bash -n ${script}`).status).toBe(0)
    const registered = bash(`source ${script} && complete -p tsops`)
    expect(registered.stdout).toBe('complete -o bashdefault -o default -o nospace -F _cli_bash_autocomplete tsops\n')
  })

  it('bash: completes command names and a command\'s flags by calling tsops back', async () => {
    const script = path.join(tmp, 'tsops2.bash')
    fs.writeFileSync(script, (await runCli(['completion', 'bash'])).stdout)
    const complete = (words: string[]) => {
      const r = bash(`source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _cli_bash_autocomplete; printf '%s\\n' "\${COMPREPLY[@]}"`)
      expect(r.status, r.stderr).toBe(0)
      return r.stdout.trim().split('\n')
    }
    expect(complete(['tsops', 'decr'])).toEqual(['decrypt'])
    expect(complete(['tsops', 'set', '--value-'])).toEqual(['--value-file', '--value-stdin'])
    expect(complete(['tsops', 'exec-file', '--no-'])).toEqual(['--no-fifo'])
  })

  it('zsh: the script names the program and calls it back', async () => {
    const r = await runCli(['completion', 'zsh'])
    expect(r.code).toBe(0)
    const text = r.stdout.toString()
    expect(text).toContain('#compdef tsops\n')
    expect(text.endsWith('compdef _cli_zsh_autocomplete tsops\n')).toBe(true)
    expect(text).toContain('--generate-bash-completion')
  })

  it('an unknown shell is "No help topic", exit 3; no shell prints the completion help', async () => {
    const fish = await runCli(['completion', 'fish'])
    expect(fish.code).toBe(3)
    expect(fish.stderr).toContain("No help topic for 'fish'")
    const none = await runCli(['completion'])
    expect(none.code).toBe(0)
    expect(none.stdout.toString()).toContain('   bash  ')
  })
})

describe('--generate-bash-completion answers as urfave/cli v1 does', () => {
  const lines = (words: string[], env: Record<string, string> = {}) => suggest(words, env).map((l) => l.trimEnd())

  it('no word: the commands and help, h', () => {
    expect(lines([])).toEqual([...COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])])])
  })

  it('a dash at the top: the global flags in sops\'s order (sops 3.13.2 prints the same)', () => {
    // Recorded from `sops --a --generate-bash-completion`.
    expect(lines(['--a'])).toEqual(['--aws-profile', '--azure-kv', '--age', '--add-gcp-kms', '--add-hckms', '--add-azure-kv', '--add-kms', '--add-hc-vault-transit', '--add-age', '--add-pgp'])
  })

  it('in a command: the global flags, then the command\'s, leaving out flags already given', () => {
    // As `sops decrypt -i --generate-bash-completion` (-i given, so no --in-place), plus the
    // --indent that tsops's decrypt takes and sops's does not.
    expect(lines(['decrypt', '-i'])).toEqual(['--input-type', '--ignore-mac', '--indent', '--input-type', '--ignore-mac', '--indent'])
    expect(lines(['decrypt', 'f.yaml'])).toEqual([])
    // Recorded from `sops set --v --generate-bash-completion`.
    expect(lines(['set', '--v'])).toEqual(['--verbose', '--version', '--value-file', '--value-stdin'])
  })

  it('a command with subcommands: its subcommands and help, h; its own flag --help', () => {
    expect(lines(['groups'])).toEqual(['add', 'delete', 'help', 'h'])
    expect(lines(['groups', '--'])).toEqual(['--help'])
    expect(lines(['groups', 'add', '--f'])).toEqual(['--file'])
    expect(lines(['completion'])).toEqual(['bash', 'zsh', 'help', 'h'])
  })

  it('under zsh, command names carry their summary', () => {
    expect(lines(['groups'], { _CLI_ZSH_AUTOCOMPLETE_HACK: '1' })[0]).toBe('add:add a new group to a SOPS file')
  })

  it('reaches the CLI as the last word, whatever flags come before it', async () => {
    const r = await runCli(['--bogus-half-typed', 'set', '--value-', '--generate-bash-completion'])
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toBe('--value-file\n--value-stdin\n')
  })
})
