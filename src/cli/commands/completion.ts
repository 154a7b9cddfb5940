/**
 * `tsops completion bash|zsh`: urfave/cli's completion scripts, as sops prints them, naming the
 * program as it was run (`tsops` or `sops`). The scripts call the program back with
 * `--generate-bash-completion` as the last word; main.ts routes that here, and `suggest`
 * answers as urfave/cli v1 does: command names, or the flags matching a word that starts with `-`.
 */
import { UnknownHelpTopicError } from '../../core/errors.js'
import { writeStdout } from '../../io/stdio.js'
import { FLAGS, type Args } from '../args.js'
import type { CliContext } from '../context.js'
import { commandHelp, COMMANDS, findCommand, GLOBAL_FLAGS, type CommandHelp } from '../help.js'

/** The word urfave/cli's scripts append; main.ts hands the words before it to `suggest`. */
export const GENERATE_FLAG = '--generate-bash-completion'

/** urfave/cli v1.22's bash script (sops 3.13.2), byte for byte but for the program name. */
const BASH = [
  '',
  '#! /bin/bash',
  '',
  '_cli_bash_autocomplete() {',
  "  if [[ \"${COMP_WORDS[0]}\" != \"source\" ]]; then",
  '    local cur opts base',
  '    COMPREPLY=()',
  "    cur=\"${COMP_WORDS[COMP_CWORD]}\"",
  "    if [[ \"$cur\" == \"-\"* ]]; then",
  '      opts=$( ${COMP_WORDS[@]:0:$COMP_CWORD} ${cur} --generate-bash-completion )',
  '    else',
  '      opts=$( ${COMP_WORDS[@]:0:$COMP_CWORD} --generate-bash-completion )',
  '    fi',
  "    COMPREPLY=( $(compgen -W \"${opts}\" -- ${cur}) )",
  '    return 0',
  '  fi',
  '}',
  'complete -o bashdefault -o default -o nospace -F _cli_bash_autocomplete PROGRAM',
].join('\n') + '\n'

/** urfave/cli v1.22's zsh script (sops 3.13.2), byte for byte but for the program name. */
const ZSH = [
  '',
  '#compdef PROGRAM',
  '',
  '_cli_zsh_autocomplete() {',
  '',
  '  local -a opts',
  '  local cur',
  '  cur=${words[-1]}',
  "  if [[ \"$cur\" == \"-\"* ]]; then",
  "    opts=(\"${(@f)$(_CLI_ZSH_AUTOCOMPLETE_HACK=1 ${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}\")",
  '  else',
  "    opts=(\"${(@f)$(_CLI_ZSH_AUTOCOMPLETE_HACK=1 ${words[@]:0:#words[@]-1} --generate-bash-completion)}\")",
  '  fi',
  '',
  "  if [[ \"${opts[1]}\" != \"\" ]]; then",
  '    _describe \'values\' opts',
  '  else',
  '    _files',
  '  fi',
  '',
  '  return',
  '}',
  '',
  'compdef _cli_zsh_autocomplete PROGRAM',
].join('\n') + '\n'

const SCRIPTS: Record<string, string> = { bash: BASH, zsh: ZSH }

export async function run(ctx: CliContext, _args: Args, rest: string[]): Promise<number> {
  const program = ctx.persona
  if (rest[0] === GENERATE_FLAG) {
    writeStdout(suggest(rest.slice(1), ctx.env, program).join(''))
    return 0
  }
  const [shell] = rest
  // As urfave/cli: no shell prints the command's help (exit 0), an unknown one `No help topic`.
  if (shell === undefined) {
    const found = findCommand(['completion'])
    if (!('unknown' in found)) writeStdout(commandHelp(program, found.path, found.command))
    return 0
  }
  const script = Object.hasOwn(SCRIPTS, shell) ? SCRIPTS[shell] : undefined
  if (script === undefined) throw new UnknownHelpTopicError(shell, `Shells: ${Object.keys(SCRIPTS).join(', ')}.`)
  writeStdout(script.replaceAll('PROGRAM', program))
  return 0
}

/** The flags' names as urfave/cli knows them: long, then the short one. */
function names(flag: string): string[] {
  const short = FLAGS[flag]?.short
  return short ? [flag, short] : [flag]
}

const dashed = (name: string) => (name.length === 1 ? '-' : '--') + name

/** urfave/cli's printFlagSuggestions: flags matching `last`, except those already given. */
function flagSuggestions(last: string, flags: readonly string[], words: readonly string[]): string[] {
  const cur = last.replace(/^--?/, '')
  const out: string[] = []
  for (const flag of flags) {
    if (names(flag).some((n) => words.includes(dashed(n)))) continue
    for (const name of names(flag)) {
      if (last.startsWith('--') && name.length === 1) continue
      if (name.startsWith(cur) && name !== cur) out.push(dashed(name) + '\n')
    }
  }
  return out
}

/** urfave/cli's printCommandSuggestions; zsh's script asks for `name:summary`. */
function commandSuggestions(commands: readonly CommandHelp[], env: Readonly<Record<string, string | undefined>>, program: string): string[] {
  const zsh = env._CLI_ZSH_AUTOCOMPLETE_HACK === '1'
  const all = [...commands, ...(commands === COMMANDS ? [] : [HELP_SUBCOMMAND])]
  return all.flatMap((c) => [c.name, ...(c.aliases ?? [])].map((n) => (zsh ? `${n}:${c.summary.replaceAll('PROGRAM', program)}\n` : `${n}\n`)))
}

/** urfave/cli gives every command with subcommands a `help, h` of its own. */
const HELP_SUBCOMMAND: CommandHelp = { name: 'help', aliases: ['h'], summary: 'Shows a list of commands or help for one command', args: '', flags: [] }

/** The first word that is not a flag or a flag's value, from `start`. */
function firstPositional(words: readonly string[], start: number): number {
  for (let i = start; i < words.length; i++) {
    const word = words[i]!
    if (!word.startsWith('-') || word === '-') return i
    const name = word.startsWith('--') ? word.slice(2).split('=')[0]! : word.slice(1, 2)
    const flag = FLAGS[name] ? name : Object.keys(FLAGS).find((f) => FLAGS[f]!.short === name)
    if (flag && FLAGS[flag]!.kind !== 'bool' && !word.includes('=') && (word.startsWith('--') || word.length === 2)) i++
  }
  return -1
}

/** What urfave/cli v1 prints for `PROGRAM WORDS… --generate-bash-completion`, one per line. */
export function suggest(words: readonly string[], env: Readonly<Record<string, string | undefined>>, program = 'tsops'): string[] {
  const last = words.length > 0 ? words[words.length - 1]! : ''
  const dash = last.startsWith('-')
  const at = firstPositional(words, 0)
  const command = at === -1 ? undefined : COMMANDS.find((c) => c.name === words[at] || c.aliases?.includes(words[at]!))
  if (!command) return dash ? flagSuggestions(last, GLOBAL_FLAGS, words) : commandSuggestions(COMMANDS, env, program)
  if (!command.subcommands) return dash ? [...flagSuggestions(last, GLOBAL_FLAGS, words), ...flagSuggestions(last, command.flags, words)] : []
  // A command with subcommands runs as an application of its own, whose only flag is --help.
  const subAt = firstPositional(words, at + 1)
  const sub = subAt === -1 ? undefined : [...command.subcommands, HELP_SUBCOMMAND].find((c) => c.name === words[subAt] || c.aliases?.includes(words[subAt]!))
  if (!sub) return dash ? flagSuggestions(last, ['help'], words) : commandSuggestions(command.subcommands, env, program)
  return dash ? [...flagSuggestions(last, ['help'], words), ...flagSuggestions(last, sub.flags, words)] : []
}
