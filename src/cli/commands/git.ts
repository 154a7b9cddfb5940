/**
 * `tsops git <install|uninstall|pre-commit|textconv|merge|resolve>`: the git integration
 * (docs/git.md). Each subcommand's work lives in src/git; this file maps arguments to it.
 */
import { CheckFailedError, fixFor, problemLine } from '../../check/index.js'
import { GenericError } from '../../core/errors.js'
import { resolveFormatName } from '../../formats/registry.js'
import path from 'node:path'
import { writeStdout } from '../../io/files.js'
import { parseDecryptionOrder } from '../../keys/registry.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { emitOptionsFor } from '../settings.js'

type Sub = (ctx: CliContext, args: Args, rest: string[]) => Promise<number>

const USAGE = `Usage:
  tsops git install [--tsops-command CMD] [--config .sops.yaml] [--pattern GLOB]...
                                                                set up attributes, drivers and the pre-commit and pre-merge-commit hooks
  tsops git uninstall                                           undo tsops git install
  tsops git pre-commit [--config .sops.yaml]                    check the staged files (the hooks run this)
  tsops git textconv FILE                                       decrypted text for git diff (diff driver)
  tsops git textconv-agent SOCKET                               serve textconv for a few seconds (bin/tsops-textconv starts it)
  tsops git merge BASE OURS THEIRS MARKER-SIZE PATH             three-way merge (merge driver)
  tsops git resolve FILE                                        resolve a tsops merge conflict in your editor
`

function usage(message: string): GenericError {
  return new GenericError(message, { code: 'USAGE', hint: USAGE.trimEnd() })
}

const decryptionOrder = (args: Args) => parseDecryptionOrder(args.string('decryption-order'))

const install: Sub = async (ctx, args) => {
  const { install: run, DEFAULT_COMMAND } = await import('../../git/install.js')
  await run({
    cwd: ctx.cwd,
    command: args.string('tsops-command') ?? DEFAULT_COMMAND,
    config: args.string('config'),
    patterns: args.list('pattern'),
    env: ctx.env,
    log: (l) => writeStdout(`tsops: ${l}\n`),
    warn: (l) => ctx.stderr(`tsops: warning: ${l}`),
  })
  return 0
}

const uninstall: Sub = async (ctx, args) => {
  const { uninstall: run } = await import('../../git/install.js')
  await run({ cwd: ctx.cwd, config: args.string('config'), log: (l) => writeStdout(`tsops: ${l}\n`), warn: (l) => ctx.stderr(`tsops: warning: ${l}`) })
  return 0
}

const preCommit: Sub = async (ctx, args) => {
  const { checkStaged } = await import('../../git/guard.js')
  const result = await checkStaged({ cwd: ctx.cwd, env: ctx.env, config: args.string('config'), warn: (m) => ctx.stderr(`tsops: warning: ${m}`) })
  const failed = result.reports.filter((r) => !r.ok)
  if (ctx.verbose) ctx.stderr(`tsops: pre-commit: ${result.staged} staged, ${result.reports.length} checked, ${failed.length} failed`)
  if (failed.length === 0) return 0
  const lines = [`tsops: commit blocked: ${failed.length} staged file${failed.length === 1 ? ' is' : 's are'} not properly encrypted (the staged version was checked):`]
  for (const r of failed) {
    for (const p of r.problems) lines.push(`  ${problemLine(r.file, p)}`)
    lines.push(`    fix: ${fixFor(r, true)}`)
  }
  ctx.stderr(lines.join('\n'))
  throw new CheckFailedError(`commit blocked: ${failed.map((r) => r.file).join(', ')}`, {
    hint: 'To commit anyway (not recommended): git commit --no-verify',
  })
}

const textconv: Sub = async (ctx, args, rest) => {
  const file = rest[0]
  if (file === undefined) throw usage('tsops git textconv needs a FILE')
  const { AGENT_SOCKET_ENV, textconvFile } = await import('../../git/textconv.js')
  const agentSocket = ctx.env[AGENT_SOCKET_ENV]
  if (agentSocket) (await import('../../git/textconv-agent.js')).startTextconvAgent(agentSocket, ctx.env, ctx.cwd)
  const result = await textconvFile(file, args.string('input-type'), ctx.keyContext, decryptionOrder(args))
  writeStdout(result.bytes)
  if (result.notice) ctx.stderr(`tsops: ${file}: ${result.notice}`)
  return 0
}

/** The resident textconv server bin/tsops-textconv talks to (src/git/textconv-agent.ts); started by textconv. */
const textconvAgent: Sub = async (ctx, _args, rest) => {
  const socketPath = rest[0]
  if (socketPath === undefined || !path.isAbsolute(socketPath)) throw usage('tsops git textconv-agent needs the absolute path of its SOCKET')
  const { serveTextconv } = await import('../../git/textconv-agent.js')
  await serveTextconv({ socketPath, env: { ...ctx.env }, cwd: ctx.cwd })
  return 0
}

const merge: Sub = async (ctx, args, rest) => {
  const [base, ours, theirs, marker, pathName] = rest
  if (base === undefined || ours === undefined || theirs === undefined) throw usage('tsops git merge needs BASE OURS THEIRS [MARKER-SIZE] [PATH] (git passes %O %A %B %L %P)')
  const name = pathName ?? ours
  const format = resolveFormatName(args.string('input-type'), name)
  const { mergeDriver, MergeConflictError } = await import('../../git/merge.js')
  const outcome = await mergeDriver({
    base,
    ours,
    theirs,
    markerSize: marker !== undefined && /^\d+$/.test(marker) ? Number(marker) : 7,
    pathName: name,
    format,
    ctx: ctx.keyContext,
    decryptionOrder: decryptionOrder(args),
    emitOptions: emitOptionsFor(ctx, args, format),
    cwd: ctx.cwd,
    env: ctx.env,
  })
  if (outcome.kind === 'clean') {
    if (outcome.rotated) ctx.stderr(`tsops: ${name}: the merge removed a key, so the merged file has a new data key`)
    return 0
  }
  if (outcome.kind === 'text') {
    if (!outcome.conflicted) return 0
    throw new MergeConflictError(`${name} is not a sops file on every side; merged it line by line, with conflicts`)
  }
  // One line: git prints it among its own CONFLICT lines.
  if (outcome.kind === 'unmerged') {
    throw new MergeConflictError(`could not merge ${name} (${outcome.reason}); both encrypted versions are left between conflict markers: run tsops git resolve ${name}`)
  }
  throw new MergeConflictError(`merge conflict in ${name}: changed on both sides: ${outcome.paths.join(', ')}; the file holds both encrypted versions between conflict markers (no plaintext): run tsops git resolve ${name}`)
}

const resolve: Sub = async (ctx, args, rest) => {
  const file = rest[0]
  if (file === undefined) throw usage('tsops git resolve needs a FILE')
  const format = resolveFormatName(args.string('input-type'), file)
  const { resolveConflict } = await import('../../git/resolve.js')
  const result = await resolveConflict({
    file,
    format,
    ctx: ctx.keyContext,
    decryptionOrder: decryptionOrder(args),
    emitOptions: emitOptionsFor(ctx, args, format),
    env: ctx.env,
    cwd: ctx.cwd,
  })
  const what = result.hunks === 0 ? 'merged it with your key, without conflicts' : `resolved ${result.hunks} conflict${result.hunks === 1 ? '' : 's'}`
  const rotated = result.rotated ? ' (a key was removed, so it has a new data key)' : ''
  ctx.stderr(`tsops: ${what} in ${file}${rotated}; mark it resolved with: git add ${file}`)
  return 0
}

const SUBCOMMANDS: Record<string, Sub> = { install, uninstall, 'pre-commit': preCommit, textconv, 'textconv-agent': textconvAgent, merge, resolve }

export async function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  const [name, ...subRest] = rest
  const sub = name !== undefined && Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined
  if (!sub) {
    if (name === undefined) {
      writeStdout(USAGE)
      return 1
    }
    throw usage(`unknown git subcommand ${JSON.stringify(name)}`)
  }
  return sub(ctx, args, subRest)
}
