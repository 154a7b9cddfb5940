import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
/** ../shared beside the repo (present in CI): interop vectors, the sops oracle, the spec. */
export const SHARED = process.env.TSOPS_SHARED_DIR ?? path.resolve(REPO_ROOT, '../shared')
export const INTEROP = path.join(SHARED, 'interop')
export const ORACLE = path.join(SHARED, 'tools/sops-oracle/oracle.mjs')
export const FIXTURES = path.join(REPO_ROOT, 'fixtures')
export const CLI = process.env.TSOPS_CLI ?? path.join(REPO_ROOT, 'dist/cli/tsops.cjs')
