/** Entry of the complete CLI bundle (dist/cli/full.cjs): every command, loaded on demand. */
import { loadCommand } from './commands.js'
import { main as runMain } from './main.js'

export function main(): Promise<void> {
  return runMain(loadCommand)
}
