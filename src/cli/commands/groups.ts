/**
 * `tsops groups add --file F [--age R] [--pgp FP] [--kms ARN] … [-i] [--shamir-secret-sharing-threshold N]`
 * `tsops groups delete --file F [-i] [--shamir-secret-sharing-threshold N] INDEX`
 *
 * Like sops: only the data key is recovered (no MAC check, the values are not touched), a key
 * group is appended or removed, the data key is split again (Shamir with >=2 groups) and wrapped
 * for every key. lastmodified and the MAC stay as they are. Output to stdout unless -i/--output.
 */
import { GenericError, ReadError, TsopsError, UnknownHelpTopicError } from '../../core/errors.js'
import { writeStdout } from '../../io/stdio.js'
import { goQuote } from '../sopslog.js'
import { metadataTree, readMetadata, type Metadata } from '../../keys/metadata.js'
import { withDefaultRule } from '../../core/rules.js'
import type { KeySpec } from '../../config/index.js'
import { assertNoEmptyGroup, planFromGroups, wrapPlan, type GroupPlan, type Member } from '../../keygroups/index.js'
import { keySourcesIn, keySpecsFromFlags, parseDecryptionOrder } from '../../keys/registry.js'
import { recoverDataKey } from '../../pipeline/decrypt.js'
import { withDataKey } from '../../pipeline/open.js'
import { DataKeyUnavailableError } from '../../keys/datakey.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { assertOutputFlags, writeResult } from '../output.js'
import { commandHelp, findCommand } from '../help.js'
import { keySourcesFor, keySpecOptions } from '../settings.js'
import { emitEncryptedFile, readEncryptedFile } from '../targets.js'

const USAGE = 'Usage: tsops groups add --file FILE [--age R] [--pgp FP] … [-i]\n       tsops groups delete --file FILE [-i] INDEX'

export async function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  const [action, ...positionals] = rest
  // As urfave/cli does for sops: no subcommand prints the usage (exit 0), an unknown one
  // `No help topic for 'x'` (exit 3).
  if (action === undefined) {
    const groups = findCommand(['groups'])
    writeStdout('unknown' in groups ? `${USAGE}\n` : commandHelp(ctx.persona, groups.path, groups.command))
    return 0
  }
  if (action !== 'add' && action !== 'delete') throw new UnknownHelpTopicError(action, USAGE)
  // sops reads the file named by --file even when there is none: `open : no such file or directory`.
  const file = args.string('file') ?? ''
  if (file === '') throw new ReadError('Error reading file: open : no such file or directory', { hint: 'Name the encrypted file with --file (-f).' })
  assertOutputFlags(args, file)
  const edit = action === 'add' ? await addGroup(args, positionals) : deleteGroup(args, positionals)

  const encrypted = await readEncryptedFile(args, file)
  const metadata = readMetadata(encrypted.doc.metadata)
  const { plan, threshold } = edit(metadata)
  assertNoEmptyGroup(plan)
  const { dataKey } = await viaSopsLogger(metadata, () => recoverDataKey(encrypted.doc, { ctx: ctx.keyContext, decryptionOrder: parseDecryptionOrder(args.string('decryption-order')) }))
  await withDataKey(dataKey, async () => {
    const wrapped = await wrapPlan(dataKey, plan, threshold, ctx.keyContext)
    // As sops, which loads a file without rules (binary) with the default suffix and writes it back.
    const updated: Metadata = { ...metadata, rules: withDefaultRule(metadata.rules), keyGroups: wrapped.groups, shamirThreshold: wrapped.threshold }
    encrypted.doc.metadata = metadataTree(updated)
  })
  writeResult(args, file, await emitEncryptedFile(ctx, args, encrypted))
  return 0
}

type GroupEdit = (metadata: Metadata) => { plan: GroupPlan; threshold: number }

/** The threshold flag replaces the file's threshold when given (and non-zero), as in sops. */
function thresholdFor(args: Args, metadata: Metadata): number {
  return args.int('shamir-secret-sharing-threshold') || metadata.shamirThreshold
}

async function addGroup(args: Args, positionals: string[]): Promise<GroupEdit> {
  if (positionals.length > 0) throw new GenericError('groups add: no positional arguments allowed', { code: 'USAGE', hint: USAGE })
  const specs = groupKeySpecs(args)
  if (specs.length === 0) {
    throw new GenericError('groups add: the new group has no keys', { code: 'EMPTY_KEY_GROUP', hint: `Give its keys with ${keyFlagList()}.` })
  }
  const [sources] = await keySourcesFor([specs])
  const group = (sources ?? []).map((source): Member => ({ kind: 'new', source }))
  return (metadata) => ({ plan: [...planFromGroups(metadata.keyGroups), group], threshold: thresholdFor(args, metadata) })
}

/** `--age, --pgp, … or --hckms`: every key source's flag, in sops's config order (age first). */
function keyFlagList(): string {
  const flags = keySourcesIn('config').map(({ flag }) => `--${flag.name}`)
  return `${flags.slice(0, -1).join(', ')} or ${flags.at(-1)}`
}

/**
 * The keys of the new group, from the key flags only: unlike encrypt, sops's `groups add` reads
 * no environment variables (SOPS_AGE_RECIPIENTS must not slip into a group).
 */
function groupKeySpecs(args: Args): KeySpec[] {
  // Split and stripped of empty items as before: sops's `groups add` reads each flag value on its
  // own and logs a key it cannot make instead of failing, which tsops does not reproduce.
  return keySpecsFromFlags((flag) => (args.has(flag) ? args.list(flag) : []), keySpecOptions(args))
}

function deleteGroup(args: Args, positionals: string[]): GroupEdit {
  if (positionals.length !== 1) throw new GenericError('error: exactly one positional argument (index) required', { code: 'USAGE', hint: USAGE })
  const text = positionals[0]!
  const index = parseGroupIndex(text)
  return (metadata) => {
    const count = metadata.keyGroups.length
    if (index >= count) throw new GenericError(`groups delete: the file has ${count} key group(s) (0 to ${count - 1}); there is no group ${index}`, { code: 'NO_SUCH_KEY_GROUP' })
    if (count === 1) throw new GenericError('groups delete: cannot delete the only key group: the file would have no master key', { code: 'NO_MASTER_KEY_LEFT' })
    const plan = planFromGroups(metadata.keyGroups.filter((_, i) => i !== index))
    const threshold = thresholdFor(args, metadata)
    if (plan.length < threshold) {
      throw new GenericError(
        `removing this key group will make the Shamir threshold impossible to satisfy: Shamir threshold is ${threshold}, but we only have ${plan.length} key groups`,
        { code: 'THRESHOLD_UNREACHABLE', hint: `Lower the threshold in the same command with --shamir-secret-sharing-threshold ${plan.length}.`, sopsLog: 'fatal' },
      )
    }
    return { plan, threshold }
  }
}

/** sops's strconv.ParseUint(index, 10, 32), its failure in Go's words through the logger. */
function parseGroupIndex(text: string): number {
  const fail = (why: string) =>
    new GenericError(`failed to parse [index] argument: strconv.ParseUint: parsing ${goQuote(text)}: ${why}`, { code: 'USAGE', hint: 'The index is a number from 0.', sopsLog: 'fatal' })
  if (!/^\d+$/.test(text)) throw fail('invalid syntax')
  const index = Number(text)
  if (index > 0xffffffff) throw fail('value out of range')
  return index
}

/**
 * sops's groups add/delete return the data-key error without an exit code, so log.Fatal prints
 * it (exit 1) in its short form (getDataKeyError.Error: the file's threshold and the groups that
 * worked); tsops keeps the per-key report as the hint.
 */
async function viaSopsLogger<T>(metadata: Metadata, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (!(err instanceof TsopsError) || err.sopsLog) throw err
    const message =
      err instanceof DataKeyUnavailableError
        ? `Error getting data key: ${metadata.shamirThreshold} successful groups required, got ${err.groups.filter((g) => g.ok).length}`
        : err.message
    throw new GenericError(message, { code: err.code, cause: err, sopsLog: 'fatal', hint: err instanceof DataKeyUnavailableError ? err.message : err.hint })
  }
}
