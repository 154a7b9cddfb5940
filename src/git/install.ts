/**
 * `tsops git install` / `tsops git uninstall`: the `.gitattributes` block, the repository's
 * driver configuration and the pre-commit hook (docs/git.md). Idempotent; uninstall removes
 * exactly what install added and puts a chained hook back.
 *
 * Git configuration is the repository's own (`--local`), never global: the drivers run the
 * command given at install time, and `diff.tsops.cachetextconv` is never set (git would store
 * the decrypted text in refs/notes/textconv/tsops, inside the repository).
 */
import fs from 'node:fs'
import path from 'node:path'
import { simpleGit, type SimpleGit } from 'simple-git'
import { CONFIG_FILE_NAME, findConfigFile, loadConfig } from '../config/index.js'
import { compileRe2 } from '../core/regex.js'
import type { EnvVars } from '../core/env.js'
import { GenericError } from '../core/errors.js'
import { removeBlock, writeBlock } from './attributes.js'
import { lookPath } from '../io/look-path.js'
import { regexToGlobs } from './globs.js'
import { HOOK_NAMES, installHook, packagedHookPath, uninstallHook } from './hooks.js'

export const DRIVER = 'tsops'
export const DEFAULT_COMMAND = 'tsops'

export interface InstallOptions {
  cwd: string
  /** Shell words that run tsops, e.g. `tsops` or `node /abs/tsops.cjs`. */
  command: string
  /** Where PATH is read from (is tsops-textconv there?). */
  env: EnvVars
  /** --config: the .sops.yaml whose creation rules choose the files. */
  config?: string
  /** --pattern: extra .gitattributes patterns, kept in `git config tsops.pattern` for later runs. */
  patterns?: readonly string[]
  log: (line: string) => void
  warn: (line: string) => void
}

/** Where extra patterns are remembered, so a later `tsops git install` keeps them. */
const PATTERN_KEY = 'tsops.pattern'

interface RepoPaths {
  top: string
  hooksDir: string
}

async function repoPaths(git: SimpleGit, cwd: string): Promise<RepoPaths> {
  let top: string
  try {
    top = (await git.revparse(['--show-toplevel'])).trim()
  } catch {
    throw new GenericError('not inside a git work tree', { code: 'NOT_A_GIT_REPO', hint: 'Run tsops git install from inside the repository.' })
  }
  // --git-path honours core.hooksPath (and worktrees); the result is relative to cwd.
  const hooks = (await git.raw(['rev-parse', '--git-path', 'hooks'])).trim()
  return { top, hooksDir: path.resolve(cwd, hooks) }
}

/** The textconv client (bin/tsops-textconv, a Perl script) as npm puts it on PATH beside tsops. */
export const TEXTCONV_CLIENT = 'tsops-textconv'

/**
 * The diff driver: tsops-textconv, which asks a resident agent (src/git/textconv-agent.ts) so
 * `git log -p` does not start node once per file version, when it can run here: tsops is run
 * by its default name, and both tsops-textconv and perl are on PATH on Linux or macOS.
 * Otherwise `<command> git textconv`, which prints the same text.
 */
export function textconvCommand(command: string, env: EnvVars, platform: string = process.platform): string {
  const clientRuns = command === DEFAULT_COMMAND && (platform === 'linux' || platform === 'darwin') && lookPath('perl', env.PATH) !== undefined && lookPath(TEXTCONV_CLIENT, env.PATH) !== undefined
  return clientRuns ? TEXTCONV_CLIENT : `${command} git textconv`
}

/** The driver settings, in the order they are written. */
export function driverConfig(command: string, textconv: string): [string, string][] {
  return [
    ['tsops.command', command],
    [`diff.${DRIVER}.textconv`, textconv],
    [`merge.${DRIVER}.name`, 'tsops: three-way merge of sops-encrypted files, key by key'],
    [`merge.${DRIVER}.driver`, `${command} git merge %O %A %B %L %P`],
  ]
}

const SECTIONS = ['tsops', `diff.${DRIVER}`, `merge.${DRIVER}`]

function within(parent: string, child: string): boolean {
  const rel = path.relative(parent, child)
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))
}

/** Extensions (or exact paths) of the files `regex` matches now, for a regex no glob expresses. */
async function fallbackPatterns(configDir: string, regex: string, where: string): Promise<string[]> {
  const listing = await simpleGit({ baseDir: configDir }).raw(['ls-files', '-z', '--cached', '--others', '--exclude-standard'])
  const re = compileRe2(regex, where)
  const patterns = new Set<string>()
  for (const file of listing.split('\0')) {
    if (file === '' || !re.test(file)) continue
    const ext = path.posix.extname(file)
    // `*.ext` when the file has a plain extension; otherwise the file itself.
    if (ext !== '' && /^\.[A-Za-z0-9_-]+$/.test(ext)) patterns.add(`*${ext}`)
    else if (/^[^\s"'\\*?[\]!#]+$/.test(file)) patterns.add(`/${file}`)
  }
  return [...patterns].sort()
}

async function attributePatterns(configPath: string, options: InstallOptions): Promise<string[]> {
  const config = loadConfig(configPath)
  const configDir = path.dirname(configPath)
  const patterns: string[] = []
  for (const [i, rule] of (config.creationRules ?? []).entries()) {
    const where = `creation_rules[${i}].path_regex`
    if (!rule.pathRegex) {
      options.log(
        `note: creation_rules[${i}] has no path_regex; a catch-all rule chooses keys, not files, so it adds no .gitattributes pattern. ` +
          `To diff and merge the files it covers, name them: tsops git install --pattern '*.enc.yaml' (any glob, repeatable)`,
      )
      continue
    }
    const globs = regexToGlobs(rule.pathRegex)
    if (globs) {
      patterns.push(...globs)
      continue
    }
    const fallback = await fallbackPatterns(configDir, rule.pathRegex, where)
    options.warn(
      `${where} ${JSON.stringify(rule.pathRegex)} cannot be written as a .gitattributes pattern; ` +
        (fallback.length > 0
          ? `using the extensions of the files it matches now: ${fallback.join(' ')} (run tsops git install again when new kinds of files appear)`
          : 'it matches no file now, so no pattern was added for it'),
    )
    patterns.push(...fallback)
  }
  return [...new Set(patterns)]
}

function locateConfig(options: Pick<InstallOptions, 'cwd' | 'config' | 'warn'>): string | undefined {
  const explicit = options.config
  if (explicit) return path.resolve(options.cwd, explicit)
  const found = findConfigFile(options.cwd, options.warn)
  return found === undefined ? undefined : path.resolve(options.cwd, found)
}

/**
 * simple-git refuses to write command-running settings unless told; configuring exactly these
 * two drivers is what install is for.
 */
function installerGit(cwd: string): SimpleGit {
  return simpleGit({ baseDir: cwd, unsafe: { allowUnsafeDiffTextConv: true, allowUnsafeMergeDriver: true } })
}

export async function install(options: InstallOptions): Promise<void> {
  const git = installerGit(options.cwd)
  const { top, hooksDir } = await repoPaths(git, options.cwd)
  const configPath = locateConfig(options)

  const extra = await rememberPatterns(git, options.patterns ?? [])
  const configInside = configPath !== undefined && within(top, configPath)
  if (!configInside && extra.length === 0) {
    options.warn(
      configPath === undefined
        ? `no ${CONFIG_FILE_NAME} found: no .gitattributes entries written (files that carry sops metadata are still checked by the hook; add patterns with --pattern GLOB)`
        : `${configPath} is outside the repository: no .gitattributes entries written (add patterns with --pattern GLOB)`,
    )
  } else {
    // Next to the .sops.yaml (its path_regex are relative to it), else at the top.
    const attributesFile = path.join(configInside ? path.dirname(configPath) : top, '.gitattributes')
    const patterns = [...new Set([...(configInside ? await attributePatterns(configPath, options) : []), ...extra])]
    const rel = path.relative(options.cwd, attributesFile) || '.gitattributes'
    if (patterns.length === 0) {
      if (removeBlock(attributesFile)) options.log(`${rel}: removed the tsops entries (no creation rule selects files)`)
      else options.log(`${rel}: no creation rule selects files; nothing to add (add patterns with --pattern GLOB)`)
    } else {
      const changed = writeBlock(attributesFile, patterns)
      options.log(`${rel}: ${changed ? 'wrote' : 'kept'} ${patterns.length} pattern${patterns.length === 1 ? '' : 's'} with diff=${DRIVER} merge=${DRIVER}`)
    }
  }

  const textconv = textconvCommand(options.command, options.env)
  for (const [key, value] of driverConfig(options.command, textconv)) await git.addConfig(key, value, false, 'local')
  const cached = await git.raw(['config', '--local', '--get', `diff.${DRIVER}.cachetextconv`]).catch(() => '')
  if (cached.trim() !== '') {
    await git.raw(['config', '--local', '--unset-all', `diff.${DRIVER}.cachetextconv`])
    options.warn(`removed diff.${DRIVER}.cachetextconv: cached textconv output would store decrypted secrets in the repository`)
  }
  options.log(
    textconv === TEXTCONV_CLIENT
      ? `git config: diff.${DRIVER}.textconv runs ${TEXTCONV_CLIENT}, merge.${DRIVER}.driver runs ${JSON.stringify(options.command)}`
      : `git config: diff.${DRIVER}.textconv and merge.${DRIVER}.driver run ${JSON.stringify(options.command)}`,
  )

  const script = fs.readFileSync(packagedHookPath(), 'utf8')
  for (const name of HOOK_NAMES) {
    const hook = installHook(hooksDir, name, script)
    const how = {
      installed: 'installed',
      updated: 'updated',
      unchanged: 'already installed',
      chained: `installed; the existing hook was kept as ${name}.tsops-chained and runs first`,
    }[hook]
    options.log(`${path.relative(options.cwd, path.join(hooksDir, name))}: ${how}`)
  }
}

/** A .gitattributes pattern is one word that is not a comment or a negation. */
function checkPattern(pattern: string): void {
  if (pattern === '' || /\s/.test(pattern) || pattern.startsWith('#') || pattern.startsWith('!')) {
    throw new GenericError(`invalid --pattern ${JSON.stringify(pattern)}: a .gitattributes pattern is one glob without spaces, not starting with # or !`, { code: 'BAD_FLAG',
      hint: "For example: tsops git install --pattern '*.enc.yaml' --pattern 'secrets/**'",
    })
  }
}

/** Add the given patterns to those remembered in git config; returns all of them. */
async function rememberPatterns(git: SimpleGit, given: readonly string[]): Promise<string[]> {
  given.forEach(checkPattern)
  const stored = (await git.raw(['config', '--local', '--get-all', PATTERN_KEY]).catch(() => '')).split('\n').filter((l) => l !== '')
  for (const p of given) if (!stored.includes(p)) await git.raw(['config', '--local', '--add', PATTERN_KEY, p])
  return [...new Set([...stored, ...given])]
}

/** Every .gitattributes in the work tree (tracked or not), wherever install may have written one. */
async function attributeFiles(top: string): Promise<string[]> {
  const listing = await simpleGit({ baseDir: top }).raw(['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ':(glob)**/.gitattributes']).catch(() => '')
  return listing.split('\0').filter((f) => f !== '').map((f) => path.join(top, ...f.split('/')))
}

export interface UninstallOptions {
  cwd: string
  config?: string
  log: (line: string) => void
  warn: (line: string) => void
}

export async function uninstall(options: UninstallOptions): Promise<void> {
  const git = installerGit(options.cwd)
  const { top, hooksDir } = await repoPaths(git, options.cwd)
  const configPath = locateConfig(options)
  const candidates = new Set([path.join(top, '.gitattributes'), ...(await attributeFiles(top))])
  if (configPath !== undefined && within(top, configPath)) candidates.add(path.join(path.dirname(configPath), '.gitattributes'))
  for (const file of candidates) {
    if (removeBlock(file)) options.log(`${path.relative(options.cwd, file) || '.gitattributes'}: removed the tsops entries`)
  }
  for (const section of SECTIONS) {
    // --remove-section fails when the section does not exist: nothing to undo then.
    await git.raw(['config', '--local', '--remove-section', section]).catch(() => undefined)
  }
  options.log(`git config: removed ${SECTIONS.join(', ')}`)
  for (const name of HOOK_NAMES) {
    const hookRel = path.relative(options.cwd, path.join(hooksDir, name))
    const result = uninstallHook(hooksDir, name)
    if (result === 'foreign') options.warn(`${hookRel} is not tsops's hook; left it in place`)
    else options.log(`${hookRel}: ${{ removed: 'removed', restored: 'removed; the previous hook was put back', absent: 'not installed' }[result]}`)
  }
}
