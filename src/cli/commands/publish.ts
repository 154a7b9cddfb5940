/**
 * `tsops publish [-y] [--recursive] [--omit-extensions] FILE|DIR`: upload encrypted files to the
 * destination their `.sops.yaml` destination_rules name — an S3 or GCS bucket (the encrypted
 * file, re-encrypted for the rule's recreation_rule keys when it has any) or a Vault KV path
 * (the decrypted values). See src/publish/ and docs/publish.md.
 *
 * As sops: the first destination rule whose path_regex matches the path as given (or as the
 * directory walk spells it) wins; each upload is confirmed (`uploading … ? (y/n): ` on stdout,
 * the answer read from stdin, terminal or not) unless --yes; a directory needs --recursive and
 * is walked in name order, the first failure stopping the walk.
 */
import fs from 'node:fs'
import path from 'node:path'
import { GenericError, NoFileError } from '../../core/errors.js'
import { matchDestinationRule, type SopsConfig } from '../../config/index.js'
import { readMetadata } from '../../keys/metadata.js'
import { formatGroupDiffs } from '../../keygroups/index.js'
import { parseDecryptionOrder } from '../../keys/registry.js'
import { goPathError } from '../../io/go-errors.js'
import { StdinLines } from '../../io/lines.js'
import { writeStdout } from '../../io/stdio.js'
import {
  decryptedBranches,
  destinationFor,
  destinationName,
  reencryptForRule,
  reencrypts,
  type Destination,
  type PublishIo,
} from '../../publish/publish.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { warnExtraPositionals } from '../output.js'
import { keySourcesFor, projectConfig } from '../settings.js'
import { sopsLogLine } from '../sopslog.js'
import { emitEncryptedFile, readEncryptedFile, type EncryptedFile } from '../targets.js'

const USAGE = 'Usage: tsops publish [-y] [--recursive] [--omit-extensions] FILE|DIR'

interface Job {
  config: SopsConfig
  /** The FILE|DIR argument, as given. */
  root: string
  recursive: boolean
  omitExtensions: boolean
  decryptionOrder: readonly string[]
  /** Where the answers come from; undefined with --yes. */
  answers: StdinLines | undefined
}

export async function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  const loaded = projectConfig(ctx, args)
  if (!loaded) {
    throw new GenericError('config file not found', { code: 'CONFIG_NOT_FOUND', hint: 'publish takes its destinations from the destination_rules of .sops.yaml: run it where .sops.yaml is found, or pass --config.' })
  }
  const root = rest[0]
  if (root === undefined) throw new NoFileError('Error: no file specified', { hint: USAGE })
  warnExtraPositionals(ctx, rest)
  let isDirectory: boolean
  try {
    isDirectory = fs.statSync(path.resolve(ctx.cwd, root)).isDirectory()
  } catch (err) {
    throw new GenericError(goPathError('stat', root, err), { code: 'FILE_NOT_FOUND' })
  }
  const recursive = args.bool('recursive')
  if (isDirectory && !recursive) {
    throw new GenericError("can't operate on a directory without --recursive flag.", { code: 'USAGE', sopsLog: 'fatal', hint: `To publish every file under ${root}, add --recursive.` })
  }
  const job: Job = {
    config: loaded.config,
    root,
    recursive,
    omitExtensions: args.bool('omit-extensions'),
    decryptionOrder: parseDecryptionOrder(args.string('decryption-order')),
    answers: args.bool('yes') ? undefined : new StdinLines(),
  }
  try {
    for (const file of walk(ctx.cwd, root)) await publishFile(ctx, args, job, file)
  } finally {
    job.answers?.close()
  }
  return 0
}

/**
 * filepath.Walk's files, lazily and in name order: the root as given, the rest joined onto it.
 * Like Walk, nothing is followed: a symbolic link is handed over as a file.
 */
function* walk(cwd: string, file: string): Generator<string> {
  let stat: fs.Stats
  try {
    stat = fs.lstatSync(path.resolve(cwd, file))
  } catch (err) {
    throw new GenericError(goPathError('lstat', file, err), { code: 'FILE_NOT_FOUND' })
  }
  if (!stat.isDirectory()) {
    yield file
    return
  }
  let names: string[]
  try {
    names = fs.readdirSync(path.resolve(cwd, file)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  } catch (err) {
    throw new GenericError(goPathError('open', file, err), { code: 'FILE_NOT_FOUND' })
  }
  for (const name of names) yield* walk(cwd, path.join(file, name))
}

async function publishFile(ctx: CliContext, args: Args, job: Job, file: string): Promise<void> {
  const absolute = path.resolve(ctx.cwd, file)
  const rule = matchDestinationRule(job.config, file)
  const destination = destinationFor(rule, ctx.env)
  if (!destination) {
    throw new GenericError('no destination configured for this file', { code: 'NO_CREATION_RULE', hint: `The destination rule matching ${file} names no s3_bucket, gcs_bucket or vault_path.` })
  }
  const name = destinationName(file, ctx.cwd, { ...(job.recursive ? { root: job.root } : {}), omitExtensions: job.omitExtensions || rule.omitExtensions })
  const encrypted = await readEncryptedFile(args, file)
  readMetadata(encrypted.doc.metadata) // sops loads it: a file without (valid) metadata is refused
  const upload = await prepareUpload(ctx, args, job, destination, rule, encrypted, absolute, name)
  if (job.answers && !(await confirmed(job.answers, absolute, destination.describe(name)))) {
    const message = `Publication of ${absolute} canceled`
    if (!job.recursive) throw new GenericError(message, { code: 'CONFIRMATION_NEEDED' })
    writeStdout(`${message}\n`)
    return
  }
  await upload()
}

/** Decrypt or re-encrypt as the destination needs, before the question; the upload itself after it. */
async function prepareUpload(
  ctx: CliContext,
  args: Args,
  job: Job,
  destination: Destination,
  rule: ReturnType<typeof matchDestinationRule>,
  encrypted: EncryptedFile,
  absolute: string,
  name: string,
): Promise<() => Promise<void>> {
  const open = { ctx: ctx.keyContext, decryptionOrder: job.decryptionOrder }
  if (destination.kind === 'values') {
    const branches = await decryptedBranches(encrypted.input, encrypted.doc, open)
    return () => destination.upload(branches, name, publishIo(ctx))
  }
  let bytes: Uint8Array
  if (reencrypts(rule)) {
    const keys = await keySourcesFor(rule.recreationRule.keyGroups)
    const reencryption = await reencryptForRule(encrypted.input, encrypted.doc, rule.recreationRule, keys, open)
    if (reencryption.keysChange) writeStdout("The following changes will be made to the file's key groups:\n" + formatGroupDiffs(reencryption.diffs))
    await reencryption.seal()
    // sops writes with the store it read with (--output-type plays no part).
    bytes = await emitEncryptedFile(ctx, args, { ...encrypted, formats: { ...encrypted.formats, output: encrypted.formats.input } })
  } else {
    try {
      bytes = fs.readFileSync(absolute)
    } catch (err) {
      throw new GenericError(`could not read file: ${goPathError('open', absolute, err)}`, { code: 'FILE_NOT_FOUND' })
    }
  }
  return () => destination.upload(bytes, name, ctx.env)
}

/**
 * sops's question, asked again until the answer is y or n. Its answer is read as fmt.Scanln
 * reads one word: an empty line, two words or the end of input fail the command with Go's words.
 */
async function confirmed(answers: StdinLines, absolute: string, where: string): Promise<boolean> {
  for (;;) {
    writeStdout(`uploading ${absolute} to ${where} ? (y/n): `)
    const line = await answers.next()
    const hint = 'publish asks before each upload: answer y or n, or pass --yes to publish without asking.'
    if (line === undefined) throw new GenericError('EOF', { code: 'CONFIRMATION_NEEDED', hint })
    const words = line.split(/[ \t\r]+/).filter((w) => w !== '')
    if (words.length === 0) throw new GenericError('unexpected newline', { code: 'CONFIRMATION_NEEDED', hint })
    if (words.length > 1) throw new GenericError('expected newline', { code: 'CONFIRMATION_NEEDED', hint })
    if (words[0] === 'y') return true
    if (words[0] === 'n') return false
  }
}

/** sops's PUBLISH logger: warnings always, info lines with --verbose. */
function publishIo(ctx: CliContext): PublishIo {
  const line = (level: 'warning' | 'info', message: string) =>
    ctx.stderr(ctx.persona === 'sops' ? sopsLogLine(level, message, {}, new Date(), 'PUBLISH') : `tsops: ${level === 'warning' ? 'warning: ' : ''}${message.trimEnd()}`)
  return {
    ctx: ctx.keyContext,
    warn: (m) => line('warning', m),
    info: (m) => {
      if (ctx.verbose) line('info', m)
    },
  }
}
