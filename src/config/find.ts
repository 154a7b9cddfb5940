/**
 * `.sops.yaml` discovery (spec §8.1, config.go LookupConfigFile). sops starts from the current
 * working directory (not the file's) and walks up to 100 levels; only `.sops.yaml` counts, a
 * `.sops.yml` met on the way merely earns a warning.
 */
import { statSync } from 'node:fs'
import path from 'node:path'

export const CONFIG_FILE_NAME = '.sops.yaml'
const ALTERNATE_NAME = '.sops.yml'
const MAX_DEPTH = 100

export interface ConfigLookup {
  /** The config file, as `startDir` joined with `..` segments (relative if startDir is). */
  path?: string
  warning?: string
}

function exists(p: string): boolean {
  // Like Go's os.Stat: anything stat-able counts, even a directory.
  return statSync(p, { throwIfNoEntry: false }) !== undefined
}

/** The search itself, returning sops's warning text rather than printing it. */
export function lookupConfigFile(startDir: string): ConfigLookup {
  let dir = startDir
  let alternate: string | undefined
  for (let i = 0; i < MAX_DEPTH; i++) {
    const candidate = path.join(dir, CONFIG_FILE_NAME)
    if (exists(candidate)) {
      return alternate === undefined
        ? { path: candidate }
        : { path: candidate, warning: `${ignoring(alternate)}; using ${JSON.stringify(candidate)} instead` }
    }
    if (alternate === undefined && exists(path.join(dir, ALTERNATE_NAME))) alternate = path.join(dir, ALTERNATE_NAME)
    const parent = path.join(dir, '..')
    // At the filesystem root `..` is the root again; sops re-checks it, which changes nothing.
    if (path.isAbsolute(dir) && parent === dir) break
    dir = parent
  }
  return alternate === undefined ? {} : { warning: ignoring(alternate) }
}

function ignoring(alternate: string): string {
  // %q in Go; JSON.stringify quotes the same way for ordinary paths.
  return `ignoring ${JSON.stringify(alternate)} when searching for config file; the config file must be called ${JSON.stringify(CONFIG_FILE_NAME)}`
}

/** The nearest `.sops.yaml` from startDir upward, or undefined; the `.sops.yml` notice goes to `warn`. */
export function findConfigFile(startDir: string, warn?: (message: string) => void): string | undefined {
  const { path: found, warning } = lookupConfigFile(startDir)
  if (warning !== undefined) warn?.(warning)
  return found
}
