/**
 * The hook files: ours comes from `hooks/pre-commit` in the package and is installed as
 * `pre-commit` and as `pre-merge-commit` (git runs the latter for a merge it commits by itself,
 * so a plaintext file committed with --no-verify on a branch is caught when it is merged). An
 * existing hook that is not ours is kept as `<name>.tsops-chained` and run by ours first (so
 * formatters that re-stage files run before the guard looks at the index), and put back on
 * uninstall.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { GenericError } from '../core/errors.js'
import { writeFileAtomic } from '../io/files.js'

export const HOOK_NAME = 'pre-commit'
/** Every hook tsops installs; each runs the same script (the guard checks the index). */
export const HOOK_NAMES = ['pre-commit', 'pre-merge-commit'] as const
export type HookName = (typeof HOOK_NAMES)[number]
const chainedName = (name: HookName) => `${name}.tsops-chained`
/** Present in our hook script; how install and uninstall recognise it. */
export const HOOK_MARKER = 'tsops-managed-hook'

/**
 * `hooks/pre-commit` of the tsops package: found upward from this module, which is in src/git
 * (tests), dist/lib/git (library) or a chunk of the CLI bundle (dist/cli/chunks).
 */
export function packagedHookPath(start = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = start, i = 0; i < 6; i++, dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'hooks', HOOK_NAME)
    if (fs.existsSync(candidate) && fs.existsSync(path.join(dir, 'package.json'))) return candidate
  }
  throw new GenericError('the tsops hook script (hooks/pre-commit) is missing from the installation', { code: 'INSTALLATION_BROKEN',
    hint: 'Reinstall tsops; the package ships hooks/pre-commit.',
  })
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

export function isOurHook(text: string | undefined): boolean {
  return text !== undefined && text.includes(HOOK_MARKER)
}

export type HookInstallResult = 'installed' | 'updated' | 'unchanged' | 'chained'

/** Install (or refresh) our hook `name` in `hooksDir`, chaining a foreign one. */
export function installHook(hooksDir: string, name: HookName, script: string): HookInstallResult {
  fs.mkdirSync(hooksDir, { recursive: true })
  const hook = path.join(hooksDir, name)
  const chained = path.join(hooksDir, chainedName(name))
  const current = readIfExists(hook)
  let result: HookInstallResult = current === undefined ? 'installed' : 'updated'
  if (current !== undefined && !isOurHook(current)) {
    if (fs.existsSync(chained)) {
      throw new GenericError(`both ${hook} (not tsops's) and ${chained} exist`, { code: 'HOOK_CONFLICT',
        hint: `Merge them into one hook by hand, remove ${chained}, then run tsops git install again.`,
      })
    }
    fs.renameSync(hook, chained)
    result = 'chained'
  } else if (current === script) {
    ensureExecutable(hook)
    return 'unchanged'
  }
  writeFileAtomic(hook, Buffer.from(script, 'utf8'), { mode: 0o755 })
  ensureExecutable(hook)
  return result
}

function ensureExecutable(file: string): void {
  const mode = fs.statSync(file).mode & 0o777
  if ((mode & 0o111) !== 0o111) fs.chmodSync(file, mode | 0o111)
}

export type HookRemoveResult = 'removed' | 'restored' | 'foreign' | 'absent'

/** Remove our hook `name` and put a chained one back. A hook that is not ours is left alone. */
export function uninstallHook(hooksDir: string, name: HookName): HookRemoveResult {
  const hook = path.join(hooksDir, name)
  const chained = path.join(hooksDir, chainedName(name))
  const current = readIfExists(hook)
  if (current !== undefined && !isOurHook(current)) return 'foreign'
  if (current !== undefined) fs.rmSync(hook, { force: true })
  if (fs.existsSync(chained)) {
    fs.renameSync(chained, hook)
    return 'restored'
  }
  return current === undefined ? 'absent' : 'removed'
}
