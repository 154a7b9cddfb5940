/**
 * `tsops exec-env FILE COMMAND` (spec §9.1): decrypt (the MAC is always checked, as in sops),
 * put each top-level key into the environment of `/bin/sh -c COMMAND` and exit with the
 * command's status. Nothing is written to disk.
 */
import { spawn } from 'node:child_process'
import { ConflictingParametersError, GenericError } from '../../core/errors.js'
import { Comment, TreeMap, TreeSeq, type MapItem } from '../../core/tree.js'
import { valToString } from '../../formats/valtostring.js'
import { parseDecryptionOrder } from '../../keys/registry.js'
import { openEncryptedFile } from '../../pipeline/reencrypt.js'
import { definedEnv } from '../../core/env.js'
import { runChild } from '../../edit/child.js'
import { childStatus } from '../child-status.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { chooseFormats } from '../formats.js'

export async function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  if (rest.length !== 2) throw new GenericError('error: missing file to decrypt', { code: 'USAGE', hint: "Usage: tsops exec-env FILE 'COMMAND'" })
  const [file, command] = rest as [string, string]
  assertSupportedFlags(ctx, args)
  const opened = await openEncryptedFile(file, {
    ctx: ctx.keyContext,
    format: chooseFormats(args, file).input,
    decryptionOrder: parseDecryptionOrder(args.string('decryption-order')),
  })
  opened.close() // only the values are needed
  const secrets = environmentOf(opened.doc.branches[0] ?? new TreeMap())
  const env = { ...(args.bool('pristine') ? {} : ctx.env), ...secrets }
  if (args.bool('background')) {
    spawn('/bin/sh', ['-c', command], { env: definedEnv(env), stdio: 'inherit', detached: true }).unref()
    return 0
  }
  return childStatus(await runChild('/bin/sh', ['-c', command], { env, forwardSignals: true }))
}

/** Top-level keys as variables; values as sops's ValToString writes them. */
export function environmentOf(root: TreeMap): Record<string, string> {
  const env: Record<string, string> = {}
  for (const item of root.items) {
    if (item instanceof Comment) continue
    assertUsable(item)
    const value = item.value as Exclude<typeof item.value, TreeMap | TreeSeq>
    env[item.key] = valToString(value)
  }
  return env
}

function assertUsable(item: Exclude<MapItem, Comment>): void {
  if (item.value instanceof TreeMap || item.value instanceof TreeSeq) {
    throw new GenericError(`cannot use complex value in environment; offending key ${item.key}`, { code: 'UNSUPPORTED_VALUE' })
  }
  if (item.key.includes('=')) throw new GenericError(`cannot use keys with '=' in environment: ${item.key}`, { code: 'UNSUPPORTED_VALUE' })
}

/** --user needs root and a user database lookup tsops does not do; --background is deprecated. */
function assertSupportedFlags(ctx: CliContext, args: Args): void {
  if (args.string('user') !== undefined) {
    throw new GenericError('--user is not supported by tsops', { code: 'UNSUPPORTED_FLAG', hint: 'Run tsops as that user instead, e.g. sudo -u NAME tsops exec-env …' })
  }
  if (args.bool('background')) {
    ctx.warn("exec-env's --background option is deprecated and will be removed in a future version of sops")
    if (args.bool('same-process')) throw new ConflictingParametersError('Error: The --same-process flag cannot be used with --background')
  }
}
