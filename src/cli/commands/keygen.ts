/** `tsops keygen`: create an age identity in the default key file (never overwriting one). */
import { keygen } from '../../keys/age.js'
import { writeStdout } from '../../io/stdio.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'

export async function run(ctx: CliContext, _args: Args, _rest: string[]): Promise<number> {
  const result = await keygen(ctx.env)
  if (result.created) ctx.stderr(`tsops: created age identity in ${result.path}`)
  else ctx.stderr(`tsops: ${result.path} already exists; kept it`)
  // The recipient alone on stdout, so `tsops keygen` composes: --age "$(tsops keygen)".
  writeStdout(result.recipient + '\n')
  return 0
}
