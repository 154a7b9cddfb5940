/**
 * `tsops check [--json] [--verify-mac] [--config F] PATH…`: keyless check that files which must
 * be encrypted are, completely, with valid metadata (src/check). Exit 0 when every checked file
 * passes, 10 (CHECK_FAILED_EXIT_CODE) when one does not; other codes are tool failures.
 *
 * `tsops check --since REF`: the same for every file version the commits REF..HEAD bring
 * (src/git/range.ts) — for CI, since rebase and cherry-pick run no commit hook.
 */
import { checkPaths, renderJson, renderText, summarize, CheckFailedError } from '../../check/index.js'
import { resolveFormatName } from '../../formats/registry.js'
import { parseDecryptionOrder } from '../../keys/registry.js'
import { writeStdout } from '../../io/stdio.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { GenericError } from '../../core/errors.js'
import type { FileReport } from '../../check/index.js'

async function checkRange(ctx: CliContext, args: Args, since: string): Promise<FileReport[]> {
  const { checkCommitRange } = await import('../../git/range.js')
  return checkCommitRange({ cwd: ctx.cwd, env: ctx.env, since, config: args.string('config'), warn: (m) => ctx.stderr(`tsops: warning: ${m}`) })
}

export async function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  const since = args.string('since')
  if (since !== undefined && rest.length > 0) throw new GenericError('tsops check --since REF checks commits, not paths: give one or the other', { code: 'USAGE' })
  const paths = rest.length > 0 ? rest : ['.']
  const inputType = args.string('input-type')
  const reports = since !== undefined ? await checkRange(ctx, args, since) : await checkPaths(paths, {
    cwd: ctx.cwd,
    config: args.string('config'),
    warn: (m) => ctx.stderr(`tsops: warning: ${m}`),
    format: inputType === undefined ? undefined : resolveFormatName(inputType, undefined),
    verify: args.bool('verify-mac')
      ? { ctx: ctx.keyContext, decryptionOrder: parseDecryptionOrder(args.string('decryption-order')) }
      : undefined,
  })
  writeStdout(args.bool('json') ? renderJson(reports) : renderText(reports))
  const { checked, failed } = summarize(reports)
  if (failed > 0) {
    throw new CheckFailedError(`${failed} of ${checked} checked file${checked === 1 ? '' : 's'} failed`, {
      hint: 'Each FAIL line above says what is wrong and how to fix it; no value is ever printed.',
    })
  }
  if (!args.bool('json')) ctx.stderr(`tsops: ${checked} file${checked === 1 ? '' : 's'} checked, all pass`)
  return 0
}
