/**
 * `tsops help [COMMAND [SUBCOMMAND]]`, `tsops COMMAND --help`, `tsops --help`: the usage
 * generated from the flag and command tables (../help.ts). An unknown topic is urfave/cli's
 * `No help topic for 'x'`, exit 3, as sops answers.
 */
import { UnknownHelpTopicError } from '../../core/errors.js'
import { writeStdout } from '../../io/stdio.js'
import type { Args } from '../args.js'
import type { CliContext } from '../context.js'
import { commandHelp, findCommand, globalHelp } from '../help.js'

/** `rest` is the topic: the command words, e.g. ['groups', 'add']; none for the global help. */
export async function run(ctx: CliContext, args: Args, rest: string[]): Promise<number> {
  const program = ctx.persona
  const found = rest.length === 0 ? undefined : findCommand(rest)
  // `tsops FILE --help` (sops's legacy style) is a request for the global help, not a topic.
  if (found === undefined || ('unknown' in found && args.bool('help'))) {
    writeStdout(globalHelp(program, ctx.persona))
    return 0
  }
  if ('unknown' in found) throw new UnknownHelpTopicError(found.unknown, `Run '${program} help' for the list of commands.`)
  writeStdout(commandHelp(program, found.path, found.command))
  return 0
}
