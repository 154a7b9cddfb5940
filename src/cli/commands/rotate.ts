/**
 * `tsops rotate [flags] FILE|DIR…` and the legacy `tsops -r FILE`: a new data key for the file.
 *
 * Decrypt (MAC checked unless --ignore-mac), apply --add-… (to group 0) and --rm-… (from every
 * group), generate a new data key, wrap it for every master key (existing keys keep their
 * created_at), re-encrypt every value with it and write a new lastmodified and MAC. Values do not
 * change; every ciphertext does.
 *
 * One file: stdout, --output or -i, like sops. Several files or a directory: -i is required,
 * each file is reported (`rotated f` / `failed f: why`) and a failure does not stop the others.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { DATA_KEY_SIZE } from '../../core/cipher.js'
import { withDefaultRule } from '../../core/rules.js'
import { ConflictingParametersError, GenericError, KeyChangeOnMissingFileError, NoFileError } from '../../core/errors.js'
import type { KeySpec } from '../../config/index.js'
import { addKeys, assertNoEmptyGroup, describeKey, planFromGroups, removeKeys, wrapPlan, type KeyRef } from '../../keygroups/index.js'
import { keySourceFromSpec, keySpecsFromFlags, parseDecryptionOrder } from '../../keys/registry.js'
import { isStdin } from '../../io/files.js'
import type { KeySource } from '../../keys/types.js'
import { open, sealedDocument, withDataKey } from '../../pipeline/open.js'
import { sealDocument } from '../../pipeline/encrypt.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { assertOutputFlags, updateInPlace, writeResult } from '../output.js'
import { goQuote } from '../sopslog.js'
import { creationRuleFor, keySourcesFor, keySpecOptions } from '../settings.js'
import { emitEncryptedFile, expandTargets, readEncryptedFile, runTargets, type Target } from '../targets.js'

export async function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  if (rest.length === 0) throw new NoFileError('Error: no file specified', { hint: 'Usage: tsops rotate [-i] [--add-age R] [--rm-pgp FP] FILE|DIR…' })
  const targets = expandTargets(ctx, args, rest)
  if (targets.batch) assertBatchOutput(args)
  else assertOutputFlags(args, rest[0])
  const changes = await keyChanges(args)
  const rotate = async (target: Target) => writeResult(args, target.file, await rotateFile(ctx, args, target, changes))
  return runTargets(ctx, targets, { gerund: 'rotating' }, async (target) => {
    if (args.bool('in-place')) await updateInPlace(target.file, () => rotate(target))
    else await rotate(target)
    return targets.batch ? `rotated ${target.file}` : undefined
  })
}

/** Writing several rotated files to one stdout (or one --output) would be useless: require -i. */
function assertBatchOutput(args: Args): void {
  if (args.string('output') !== undefined) {
    throw new ConflictingParametersError('--output cannot be used with several files or a directory', { hint: 'Use -i to rotate each file in place.' })
  }
  if (!args.bool('in-place')) {
    throw new ConflictingParametersError('rotating several files or a directory needs -i (--in-place)', {
      hint: 'Each file is rewritten in place; with a single FILE the result can go to stdout or --output instead.',
    })
  }
}

interface KeyChanges {
  add: KeySource[]
  remove: KeyRef[]
}

/** --add-<type> / --rm-<type> for every key type (flag names derived from the key registry). */
async function keyChanges(args: Args): Promise<KeyChanges> {
  const specs = (prefix: 'add-' | 'rm-') => keySpecsFromFlags((flag) => args.values(flag), keySpecOptions(args), prefix)
  const [add] = await keySourcesFor([specs('add-')])
  return { add: add ?? [], remove: await Promise.all(specs('rm-').map(refFor)) }
}

/**
 * The id a --rm-… key is matched by: the key source's own id (so it is normalised exactly as the
 * ids read from files are), or the id as given for a type this build cannot load. A key sops
 * cannot make (`--rm-age bogus`, `--rm-age a,,b`) is refused as sops refuses it, before the file
 * is read.
 */
async function refFor(spec: KeySpec): Promise<KeyRef> {
  try {
    const source = await keySourceFromSpec(spec.type, spec.id)
    return { type: source.type, id: source.id }
  } catch (err) {
    if (!(err instanceof GenericError && err.code === 'UNSUPPORTED_KEY_TYPE')) throw err
    return { type: spec.type, id: spec.id }
  }
}

/** sops's words when --rm-… empties a key group (its key generation fails); tsops's explanation in the hint. */
function assertKeysLeft(plan: Parameters<typeof assertNoEmptyGroup>[0]): void {
  try {
    assertNoEmptyGroup(plan)
  } catch (err) {
    if (!(err instanceof GenericError)) throw err
    throw new GenericError('Could not generate data key: [empty key group provided]', { code: 'EMPTY_KEY_GROUP', hint: err.hint ? `${err.message}. ${err.hint}` : err.message })
  }
}

function hasKeyChanges(changes: KeyChanges): boolean {
  return changes.add.length > 0 || changes.remove.length > 0
}

async function rotateFile(ctx: CliContext, args: Args, target: Target, changes: KeyChanges): Promise<Uint8Array> {
  // sops names the file by its absolute path in what it reports (filepath.Abs of the argument).
  const file = isStdin(target.file) ? target.file : path.resolve(ctx.cwd, target.file)
  const legacy = args.bool('rotate')
  if (!isStdin(file) && !existsSync(file)) {
    // sops's two wordings: the `rotate` subcommand's and the legacy `-r`'s (which also checks first that the file exists).
    if (hasKeyChanges(changes)) {
      const instead = legacy ? 'use `--kms` and `--pgp` instead' : 'use the `edit` subcommand instead'
      throw new KeyChangeOnMissingFileError(`Error: cannot add or remove keys on non-existent file ${goQuote(file)}, ${instead}.`, {
        hint: 'To create an encrypted file, use tsops encrypt with --age/--pgp (or .sops.yaml creation rules).',
      })
    }
    if (legacy) throw new NoFileError(`Error: cannot operate on non-existent file ${goQuote(file)}`)
  }
  // sops's legacy mode loads the creation rules for every mode but -d: a config whose rules all
  // miss this file is an error there (spec §8.3), while the `rotate` subcommand never reads them.
  if (legacy) creationRuleFor(ctx, args, file)

  const encrypted = await readEncryptedFile(args, file)
  const { doc, input } = encrypted
  const opened = await open(sealedDocument(doc), encrypted.formats.input, {
    keepIvs: false, // a new data key: no ciphertext can be kept
    ctx: ctx.keyContext,
    ignoreMac: args.bool('ignore-mac'),
    decryptionOrder: parseDecryptionOrder(args.string('decryption-order')),
  })
  opened.close() // the old key is done with
  const { metadata } = opened

  const addition = addKeys(planFromGroups(metadata.keyGroups), 0, changes.add)
  // sops would add a second entry for the same key; tsops keeps one (noted, silent as sops).
  for (const ref of addition.duplicates) ctx.note(`--add: ${describeKey(ref)} is already in key group 0 of ${target.file}`)
  let plan = addition.plan
  const removal = removeKeys(plan, changes.remove)
  plan = removal.plan
  for (const ref of removal.notFound) ctx.note(`--rm: ${describeKey(ref)} is not in ${target.file}; nothing removed for it`)
  assertKeysLeft(plan)

  await withDataKey(randomBytes(DATA_KEY_SIZE), async (dataKey) => {
    const wrapped = await wrapPlan(dataKey, plan, metadata.shamirThreshold, ctx.keyContext)
    // No IV stash: under a new key every value gets a fresh IV and so a new ciphertext.
    sealDocument(input, doc, dataKey, {
      keyGroups: wrapped.groups,
      shamirThreshold: wrapped.threshold,
      rules: withDefaultRule(metadata.rules), // as sops writes a file without rules (binary) back
      version: metadata.version, // sops keeps the file's version on rotate
    })
  })
  return emitEncryptedFile(ctx, args, encrypted)
}
