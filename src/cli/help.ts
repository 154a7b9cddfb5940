/**
 * Usage text, generated from the flag table that parses the command line (args.ts FLAGS) and the
 * command table below, so a flag cannot be parsed without being documented. Loaded only by
 * `help`/`--help` and completion (commands/help.ts, commands/completion.ts): the start-up bundle
 * never carries it.
 */
import { keySourcesIn, type SopsKeyOrder } from '../keys/registry.js'
import { FLAGS, type FlagName } from './args.js'
import { FLAG_USAGE } from './flag-usage.js'
import type { Persona } from './persona.js'

export interface CommandHelp {
  name: string
  aliases?: readonly string[]
  summary: string
  /** What follows `PROGRAM NAME [command options]` in the usage line. */
  args: string
  /** Long names of the flags the command reads, in the order help lists them. */
  flags: readonly FlagName[]
  subcommands?: readonly CommandHelp[]
}

const KEYSERVICE: FlagName[] = ['enable-local-keyservice', 'keyservice']
/** The key sources' flags in one of sops's help orders, each followed by the flags it brings along (kms: --aws-profile). */
const keyFlags = (order: SopsKeyOrder): FlagName[] =>
  keySourcesIn(order).flatMap(({ flag }) => [flag.name as FlagName, ...((flag.helpWith ?? []) as FlagName[])])
const KEYS: FlagName[] = keyFlags('helpKeys')
const TYPES: FlagName[] = ['input-type', 'output-type']
const RULES: FlagName[] = ['unencrypted-suffix', 'encrypted-suffix', 'unencrypted-regex', 'encrypted-regex', 'unencrypted-comment-regex', 'encrypted-comment-regex', 'mac-only-encrypted']
const ADD_RM: FlagName[] = keySourcesIn('helpAddRemove').flatMap(({ flag }) => [`add-${flag.name}` as FlagName, `rm-${flag.name}` as FlagName])

/** sops's global flags, in sops's order (its `--help` and its flag completion list them so). */
export const GLOBAL_FLAGS: readonly FlagName[] = [
  'decrypt', 'encrypt', 'rotate', 'disable-version-check', 'check-for-updates', ...KEYS, 'in-place', 'extract', ...TYPES,
  'show-master-keys', ...ADD_RM, 'ignore-mac', 'mac-only-encrypted', ...RULES.filter((f) => f !== 'mac-only-encrypted'), 'config',
  'encryption-context', 'set', 'shamir-secret-sharing-threshold', 'indent', 'verbose', 'output', 'filename-override',
  'decryption-order', ...KEYSERVICE, 'help', 'version',
]

/** Every command, in the order `help` lists them. */
export const COMMANDS: readonly CommandHelp[] = [
  { name: 'encrypt', summary: 'encrypt a file, and output the results to stdout. If no filename is provided, stdin will be used.', args: '[file]',
    flags: ['in-place', 'output', ...KEYS, ...TYPES, ...RULES, 'encryption-context', 'shamir-secret-sharing-threshold', 'filename-override', 'indent', 'config', ...KEYSERVICE] },
  { name: 'decrypt', summary: 'decrypt a file, and output the results to stdout. If no filename is provided, stdin will be used.', args: '[file...]',
    flags: ['in-place', 'extract', 'output', 'output-dir', ...TYPES, 'ignore-mac', 'filename-override', 'decryption-order', 'terraform', 'indent', 'config', ...KEYSERVICE] },
  { name: 'edit', summary: 'edit an encrypted file', args: 'file',
    flags: [...KEYS, ...TYPES, ...RULES, 'encryption-context', 'shamir-secret-sharing-threshold', 'show-master-keys', 'ignore-mac', 'decryption-order', 'indent', 'config', ...KEYSERVICE] },
  { name: 'set', summary: "set a specific key or branch in the input document. value must be a JSON encoded string, for example '/path/to/file [\"somekey\"][0] {\"somevalue\":true}', or a path if --value-file is used, or omitted if --value-stdin is used", args: 'file index [ value ]',
    flags: [...TYPES, 'value-file', 'value-stdin', 'shamir-secret-sharing-threshold', 'ignore-mac', 'decryption-order', 'idempotent', 'indent', 'config', ...KEYSERVICE] },
  { name: 'unset', summary: 'unset a specific key or branch in the input document.', args: 'file index',
    flags: [...TYPES, 'shamir-secret-sharing-threshold', 'ignore-mac', 'decryption-order', 'idempotent', 'indent', 'config', ...KEYSERVICE] },
  { name: 'apply', summary: 're-encrypt a new plaintext into an encrypted file; values that did not change keep their ciphertext', args: 'file new-plaintext',
    flags: [...TYPES, 'output', 'ignore-mac', 'decryption-order', 'indent', 'config'] },
  { name: 'exec-env', summary: 'execute a command with decrypted values inserted into the environment', args: '[file to decrypt] [command to run]',
    flags: ['background', 'pristine', 'user', 'same-process', ...TYPES, 'decryption-order', ...KEYSERVICE] },
  { name: 'exec-file', summary: 'execute a command with the decrypted contents as a temporary file', args: '[file to decrypt] [command to run]',
    flags: ['background', 'no-fifo', 'user', ...TYPES, 'filename', 'decryption-order', 'indent', 'config', ...KEYSERVICE] },
  { name: 'rotate', summary: 'generate a new data encryption key and reencrypt all values with the new key', args: 'file|dir...',
    flags: ['in-place', 'output', ...TYPES, 'encryption-context', 'aws-profile', ...ADD_RM, 'filename-override', 'ignore-mac', 'decryption-order', 'indent', 'config', ...KEYSERVICE] },
  { name: 'updatekeys', summary: 'update the keys of SOPS files using the config file', args: 'file|dir...',
    flags: ['yes', 'input-type', 'shamir-secret-sharing-threshold', 'decryption-order', 'config', ...KEYSERVICE] },
  { name: 'publish', summary: 'Publish sops file or directory to a configured destination', args: 'file',
    flags: ['yes', 'omit-extensions', 'recursive', 'verbose', 'decryption-order', 'config', ...KEYSERVICE] },
  { name: 'groups', summary: 'modify the groups on a SOPS file', args: 'command [command options] [arguments...]', flags: [],
    subcommands: [
      { name: 'add', summary: 'add a new group to a SOPS file', args: '[arguments...]',
        flags: ['file', ...keyFlags('helpGroupsAdd'), 'in-place', 'shamir-secret-sharing-threshold', 'encryption-context', 'decryption-order', ...KEYSERVICE] },
      { name: 'delete', summary: 'delete a key group from a SOPS file', args: '[index]',
        flags: ['file', 'in-place', 'shamir-secret-sharing-threshold', 'decryption-order', ...KEYSERVICE] },
    ] },
  { name: 'keyservice', summary: 'start a SOPS key service server', args: '[arguments...]', flags: ['network', 'net', 'address', 'addr', 'prompt', 'verbose'] },
  { name: 'filestatus', summary: 'check the status of the file, returning encryption status', args: 'file', flags: ['input-type'] },
  { name: 'check', summary: 'keyless check that files which must be encrypted are, completely, with valid metadata (exit 10 when one is not)', args: '[path...]',
    flags: ['json', 'verify-mac', 'since', 'input-type', 'decryption-order', 'config'] },
  { name: 'git', summary: "git's diff and merge drivers and the pre-commit guard for this repository", args: 'command [command options] [arguments...]', flags: [],
    subcommands: [
      { name: 'install', summary: 'set up attributes, drivers and the pre-commit and pre-merge-commit hooks', args: '', flags: ['tsops-command', 'pattern', 'config'] },
      { name: 'uninstall', summary: 'undo tsops git install', args: '', flags: [] },
      { name: 'pre-commit', summary: 'check the staged files (the hooks run this)', args: '', flags: ['config', 'input-type'] },
      { name: 'textconv', summary: 'decrypted text for git diff (diff driver)', args: 'file', flags: ['decryption-order'] },
      { name: 'textconv-agent', summary: 'serve textconv for a few seconds (bin/tsops-textconv starts it)', args: 'socket', flags: [] },
      { name: 'merge', summary: 'three-way merge (merge driver)', args: 'base ours theirs [marker-size] [path]', flags: ['decryption-order'] },
      { name: 'resolve', summary: 'resolve a tsops merge conflict in your editor', args: 'file', flags: ['decryption-order'] },
    ] },
  { name: 'keygen', summary: 'create an age identity in the default key file and print its recipient', args: '', flags: [] },
  { name: 'completion', summary: 'Generate shell completion scripts', args: 'command [command options] [arguments...]', flags: [],
    subcommands: [
      { name: 'bash', summary: 'Generate bash completions. To load completions: `$ source <(PROGRAM completion bash)`', args: '[arguments...]', flags: [] },
      { name: 'zsh', summary: 'Generate zsh completions. To load completions: `$ source <(PROGRAM completion zsh)`', args: '[arguments...]', flags: [] },
    ] },
  { name: 'help', aliases: ['h'], summary: 'Shows a list of commands or help for one command', args: '[command]', flags: [] },
]

/** The command (or subcommand) `words` name, e.g. ['groups', 'add']; undefined when there is none. */
export function findCommand(words: readonly string[]): { command: CommandHelp; path: string[] } | { unknown: string } {
  let list: readonly CommandHelp[] = COMMANDS
  let found: CommandHelp | undefined
  const path: string[] = []
  for (const word of words) {
    const next = list.find((c) => c.name === word || c.aliases?.includes(word))
    if (!next) return { unknown: word }
    found = next
    path.push(next.name)
    list = next.subcommands ?? []
    if (list.length === 0) break
  }
  return found ? { command: found, path } : { unknown: words[0] ?? '' }
}

/** `--in-place, -i`, `--output value`: how urfave/cli names a flag in help. */
function flagTitle(name: FlagName): string {
  const spec = FLAGS[name]!
  const value = spec.kind === 'bool' ? '' : ' value'
  return `--${name}${value}` + (spec.short ? `, -${spec.short}${value}` : '')
}

function flagLine(name: FlagName): [string, string] {
  const spec = FLAGS[name]!
  return [flagTitle(name), FLAG_USAGE[name] + (spec.env ? ` [$${spec.env}]` : '')]
}

/** Two columns, the second aligned as urfave/cli aligns it. */
function table(rows: readonly [string, string][]): string {
  const width = Math.max(0, ...rows.map(([a]) => a.length))
  return rows.map(([a, b]) => `   ${a.padEnd(width)}  ${b}`.trimEnd() + '\n').join('')
}

const withProgram = (text: string, program: string) => text.replaceAll('PROGRAM', program)

/** `PROGRAM help CMD`, `PROGRAM CMD --help`: name, usage line, subcommands, every flag it reads. */
export function commandHelp(program: string, path: readonly string[], command: CommandHelp): string {
  const full = [program, ...path].join(' ')
  const parts = [`NAME:\n   ${full} - ${withProgram(command.summary, program)}\n`]
  const flags: readonly FlagName[] = command.subcommands ? ['help'] : command.flags
  const options = command.subcommands || flags.length === 0 ? ' ' : ' [command options] '
  parts.push(`USAGE:\n   ${full}${options}${command.args}`.trimEnd() + '\n')
  if (command.subcommands) parts.push('COMMANDS:\n' + table(command.subcommands.map((s) => [s.name, withProgram(s.summary, program)])))
  // urfave/cli's template ends the options with an indented empty line.
  if (flags.length > 0) parts.push('OPTIONS:\n' + table(flags.map(flagLine)) + '   \n')
  return parts.join('\n')
}

/** `PROGRAM --help`: the commands and the global (legacy-style) flags. */
export function globalHelp(program: string, persona: Persona): string {
  const title = persona === 'sops' ? `${program} - SOPS-compatible encrypted file editor (tsops)` : 'tsops — SOPS-compatible encrypted config files (YAML, JSON, TOML, dotenv, INI, binary)'
  return [
    `${title}\n`,
    `USAGE:\n   ${program} [global options] command [command options] [arguments...]\n   ${program} [global options] file    (sops's legacy style: -e, -d, -r, --set; no mode edits the file)\n`,
    'COMMANDS:\n' + table(COMMANDS.map((c) => [[c.name, ...(c.aliases ?? [])].join(', '), withProgram(c.summary, program)])),
    'GLOBAL OPTIONS:\n' + table(GLOBAL_FLAGS.map(flagLine)),
    `Run '${program} help COMMAND' or '${program} COMMAND --help' for the flags of one command.\n`,
    'Keys for decryption: age identities from SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD or\n~/.config/sops/age/keys.txt; PGP through gpg (GNUPGHOME).\n',
    'Exit codes are sops\'s: 2 read, 3 write, 25 value decrypt, 51 MAC mismatch, 91 bad path,\n100 no file, 128 no key could decrypt, 200 not modified, 203 already encrypted.\n',
  ].join('\n')
}
