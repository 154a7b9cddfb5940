/**
 * Entry of the start-up bundle (dist/cli/main.cjs), what a `tsops`/`sops` run loads first when
 * it may be one of the commands that must start fastest: decrypt and encrypt (also as sops's
 * -d/-e flags, as helm-secrets and CI scripts call them) and Terraform's data source. Leaving
 * the other commands out makes this bundle a fifth smaller, which is a fifth less code for V8 to
 * read, instantiate and garbage-collect at every start. Any other command word hands the whole
 * run over to the complete CLI (dist/cli/full.cjs) before anything is read or written.
 */
import { CommandNotBundled, isCommandWord, main as runMain, type Command } from './main.js'

const STARTUP_COMMANDS = new Map<string, () => Promise<{ run: Command }>>([
  ['decrypt', () => import('./commands/decrypt.js')],
  ['encrypt', () => import('./commands/encrypt.js')],
  ['terraform', () => import('./commands/terraform.js')],
])

async function loadStartupCommand(name: string): Promise<Command | undefined> {
  const load = STARTUP_COMMANDS.get(name)
  if (load) return (await load()).run
  if (isCommandWord(name)) throw new CommandNotBundled(name)
  return undefined
}

export function main(handOver: () => Promise<void>): Promise<void> {
  return runMain(loadStartupCommand, handOver)
}
