/**
 * Every command: the files in ./commands (one per command, each exporting `run`), loaded lazily,
 * so `tsops decrypt` never parses the code of `tsops edit`. esbuild bundles every file the glob
 * import can reach as its own chunk, so adding a command is adding a file. (The start-up bundle
 * uses its own short list instead, see bin-start.ts.)
 */
import { isCommandWord, type Command } from './main.js'

export async function loadCommand(name: string): Promise<Command | undefined> {
  if (!isCommandWord(name)) return undefined
  try {
    const mod = (await import(`./commands/${name}.ts`)) as { run?: Command }
    return mod.run
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const message = err instanceof Error ? err.message : ''
    if (code === 'ERR_MODULE_NOT_FOUND' || message.startsWith('Module not found in bundle')) return undefined
    throw err
  }
}
