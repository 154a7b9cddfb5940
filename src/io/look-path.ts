import fs from 'node:fs'
import path from 'node:path'

/** Like Go's exec.LookPath: the first executable regular file named `name` on PATH. */
export function lookPath(name: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    const candidate = path.join(dir === '' ? '.' : dir, name)
    try {
      if (fs.statSync(candidate).isFile()) {
        fs.accessSync(candidate, fs.constants.X_OK)
        return candidate
      }
    } catch {
      // not here
    }
  }
  return undefined
}
