import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
/** ../shared beside the repo (present in CI): interop vectors, the sops oracle, the spec. */
export const SHARED = process.env.TSOPS_SHARED_DIR ?? path.resolve(REPO_ROOT, '../shared')
export const INTEROP = path.join(SHARED, 'interop')
/**
 * "Does real sops read this?": `node ORACLE FILE FORMAT` runs the real sops 3.13.2 binary's
 * decrypt (test/helpers/real-sops.mjs). It replaced the sops 3.9.2 library oracle in ../shared.
 */
export const ORACLE = path.join(REPO_ROOT, 'test/helpers/real-sops.mjs')
export const FIXTURES = path.join(REPO_ROOT, 'fixtures')
export const CLI = process.env.TSOPS_CLI ?? path.join(REPO_ROOT, 'dist/cli/tsops.cjs')
