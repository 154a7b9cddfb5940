// Empties dist/lib and dist/internal before tsc writes them: tsc never deletes, so a module
// removed from the library (or from src) would otherwise stay in the published package.
import { rmSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
for (const dir of ['dist/lib', 'dist/internal']) rmSync(path.join(root, dir), { recursive: true, force: true })
