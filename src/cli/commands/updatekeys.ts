/**
 * `tsops updatekeys [-y] FILE|DIR…`: make each file's key groups those of its `.sops.yaml`
 * creation rule, keeping the data key.
 *
 * Only the metadata changes: the values are never decrypted, so every ciphertext, lastmodified
 * and the MAC stay byte for byte (sops does the same: the tree is not touched). The changes are
 * shown first and confirmed on a terminal unless -y; without a terminal and without -y nothing
 * is written. Several files or a directory: each is processed and reported, failures do not stop
 * the others, and the command fails at the end.
 */
import fs from 'node:fs'
import path from 'node:path'
import { GenericError, NoFileError, TsopsError } from '../../core/errors.js'
import { metadataTree, readMetadata, type Metadata } from '../../keys/metadata.js'
import { withDefaultRule } from '../../core/rules.js'
import {
  diffKeyGroups,
  formatGroupDiffs,
  formatShamirDiff,
  keysWillChange,
  memberRef,
  refsOf,
  planFromGroups,
  sameKey,
  updatedThreshold,
  wrapNewMembersOnly,
  wrapPlan,
  type GroupPlan,
  type Member,
} from '../../keygroups/index.js'
import { parseDecryptionOrder } from '../../keys/registry.js'
import type { KeyEntry } from '../../keys/types.js'
import { recoverDataKey } from '../../pipeline/decrypt.js'
import { withDataKey } from '../../pipeline/open.js'
import { writeFileAtomic } from '../../io/files.js'
import { StdinLines } from '../../io/lines.js'
import { goPathError } from '../../io/go-errors.js'
import { writeStderr, writeStdout } from '../../io/stdio.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { updateInPlace } from '../output.js'
import { creationRuleFor, keySourcesFor, projectConfig } from '../settings.js'
import { emitEncryptedFile, expandTargets, readEncryptedFile, runTargets, type BatchVerbs, type Target } from '../targets.js'
import { goLogLine, sopsLogLine } from '../sopslog.js'

export async function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  if (rest.length === 0) throw new NoFileError('Error: no file specified', { hint: 'Usage: tsops updatekeys [-y] FILE|DIR…' })
  if (!projectConfig(ctx, args)) {
    throw new GenericError('config file not found', { code: 'CONFIG_NOT_FOUND',
      hint: 'updatekeys takes the keys from the .sops.yaml creation rules: run it inside the repository that holds .sops.yaml, or pass --config.',
    })
  }
  const targets = expandTargets(ctx, args, rest)
  const confirm = args.bool('yes') ? undefined : new Confirmer()
  try {
    return await runTargets(ctx, targets, batchVerbs(ctx), (target) => updateInPlace(target.file, () => updateFile(ctx, args, target, confirm, targets.batch)))
  } finally {
    confirm?.close()
  }
}

/** Several files as sops reports them: each failure a logger error line, then `failed updating N key(s)`. */
function batchVerbs(ctx: CliContext): BatchVerbs {
  if (ctx.persona === 'tsops') return { gerund: 'updating' }
  return {
    gerund: 'updating',
    reportFailure: (_target, err) => writeStderr(sopsLogLine('error', err instanceof TsopsError ? err.message : 'unexpected failure')),
    summary: (failed) => `failed updating ${failed} key(s)`,
  }
}

/**
 * What updatekeys reports about a file. As `sops`, Go's log lines on stderr naming the file by
 * its absolute path (`2006/01/02 15:04:05 File /abs/f.yaml synced with new keys`), as sops
 * prints them; as `tsops`, the line is returned for runTargets to print.
 */
function reporter(ctx: CliContext, file: string): (message: (name: string) => string) => string | undefined {
  if (ctx.persona === 'tsops') return (message) => message(file)
  const absolute = path.resolve(ctx.cwd, file)
  return (message) => {
    writeStderr(goLogLine(message(absolute)))
    return undefined
  }
}

/** sops stats the file first: a missing one is Go's `stat /abs/f.yaml: no such file or directory` (exit 1). */
function assertExists(ctx: CliContext, file: string): void {
  const absolute = path.resolve(ctx.cwd, file)
  try {
    fs.statSync(absolute)
  } catch (err) {
    throw new GenericError(goPathError('stat', absolute, err), { code: 'FILE_NOT_FOUND' })
  }
}

async function updateFile(ctx: CliContext, args: Args, target: Target, confirm: Confirmer | undefined, batch: boolean): Promise<string | undefined> {
  const file = target.file
  const report = reporter(ctx, file)
  assertExists(ctx, file)
  report((name) => `Syncing keys for file ${name}`)
  const encrypted = await readEncryptedFile(args, file)
  const metadata = readMetadata(encrypted.doc.metadata)
  const rule = creationRuleFor(ctx, args, file)
  if (!rule) throw new GenericError(`The config file ${projectConfig(ctx, args)?.shown ?? ''} does not contain any creation rule`, { code: 'NO_CREATION_RULE' })

  // A rule without keys is one empty group to sops: it shows the keys going, then cannot wrap.
  const wanted = await keySourcesFor(rule.keyGroups.length === 0 ? [[]] : rule.keyGroups)
  const diffs = diffKeyGroups(refsOf(planFromGroups(metadata.keyGroups)), wanted.map((g) => g.map((s) => ({ type: s.type, id: s.id }))))
  const threshold = updatedThreshold({
    current: metadata.shamirThreshold,
    flag: args.int('shamir-secret-sharing-threshold'),
    rule: rule.shamirThreshold,
    groups: wanted.length,
  })
  if (!keysWillChange(diffs) && threshold === metadata.shamirThreshold) return report((name) => `File ${name} already up to date`)

  // With several files, name the one the changes (and the question) are about (sops does not).
  if (batch && ctx.persona === 'tsops') writeStdout(`${file}:\n`)
  writeStdout(`The following changes will be made to the file's groups:\n`)
  writeStdout(formatShamirDiff(metadata.shamirThreshold, threshold) + formatGroupDiffs(diffs))
  if (confirm && !(await confirm.ask(file))) return report((name) => `File ${name} left unchanged`)

  const plan = planFor(metadata.keyGroups, wanted.map((g) => g.map((source): Member => ({ kind: 'new', source }))))
  const { dataKey } = await recoverDataKey(encrypted.doc, { ctx: ctx.keyContext, decryptionOrder: parseDecryptionOrder(args.string('decryption-order')) })
  await withDataKey(dataKey, async () => {
    if (wanted.some((g) => g.length === 0)) {
      throw new GenericError('error updating one or more master keys: [empty key group provided]', { code: 'EMPTY_KEY_GROUP',
        hint: `the creation rule for ${file} has no keys, or an empty key group: the file would be left without master keys`,
      })
    }
    // One group before and after: the same whole data key is wrapped, so unchanged entries stay as they are.
    const keepEntries = metadata.keyGroups.length === 1 && plan.length === 1
    const wrapped = keepEntries
      ? await wrapNewMembersOnly(dataKey, plan[0]!, threshold, ctx.keyContext)
      : await wrapPlan(dataKey, plan, threshold, ctx.keyContext)
    // As sops, which loads a file without rules (binary) with the default suffix and writes it back.
    const updated: Metadata = { ...metadata, rules: withDefaultRule(metadata.rules), keyGroups: wrapped.groups, shamirThreshold: wrapped.threshold }
    encrypted.doc.metadata = metadataTree(updated)
  })
  writeFileAtomic(file, await emitEncryptedFile(ctx, args, encrypted))
  return report((name) => `File ${name} synced with new keys`)
}

/**
 * The rule's groups, with each key that the file already has in the same group replaced by the
 * file's entry: re-wrapping it keeps its created_at, and with one group it is kept as it is.
 */
function planFor(current: readonly (readonly KeyEntry[])[], wanted: GroupPlan): GroupPlan {
  const existing = planFromGroups(current)
  return wanted.map((group, i) =>
    group.map((member) => existing[i]?.find((old) => sameKey(memberRef(old), memberRef(member))) ?? member),
  )
}

/** `Is this okay? (y/n):` on a terminal, asked again until the answer is y or n (as sops does). */
class Confirmer {
  private readonly lines = new StdinLines()

  async ask(file: string): Promise<boolean> {
    if (!process.stdin.isTTY) {
      throw new GenericError(`not updating ${file}: the changes need confirmation, and standard input is not a terminal`, { code: 'CONFIRMATION_NEEDED',
        hint: 'Review the changes above and run again with -y (--yes) to apply them without asking.',
      })
    }
    for (;;) {
      writeStdout('Is this okay? (y/n):')
      const answer = await this.lines.next()
      if (answer === undefined) throw new GenericError(`not updating ${file}: no answer (end of input)`, { code: 'CONFIRMATION_NEEDED' })
      if (answer.trim() === 'y') return true
      if (answer.trim() === 'n') return false
    }
  }

  close(): void {
    this.lines.close()
  }
}
