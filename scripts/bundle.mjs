// Bundles the CLI with esbuild into CommonJS files (dist/cli/main.cjs, full.cjs) plus the small
// launcher that runs one of them through a V8 code cache (dist/cli/tsops.cjs). CommonJS because Node's
// ESM loader costs more at start-up than the whole bundle does with a warm code cache; cloud
// SDKs stay outside the bundle and are required only when a file uses them.
//
// Start-up cost grows with the bundle, not only with what runs: esbuild hoists every module's
// functions to the bundle's top level, so V8 keeps a record of each in the code cache it reads
// on every run. Third-party code that only some files need (typage for non-X25519 age keys, the
// TOML parsers) is therefore bundled on its own into dist/cli/vendor/ and required on first use.
import { build } from 'esbuild'
import { createHash } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
// `node scripts/bundle.mjs [outdir]`: tests build a private copy so parallel runs never see a
// half-built CLI. Without an outdir (npm run build) the library's CommonJS entry is built too.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const outdir = path.resolve(process.argv[2] ?? path.join(root, 'dist/cli'))
const buildLibrary = process.argv[2] === undefined
/** Loaded only when a file uses them, by the CLI and the library alike; never bundled. */
const CLOUD_SDKS = ['@aws-sdk/*', '@smithy/*', '@google-cloud/*', '@grpc/*', '@azure/*', 'google-gax', 'google-auth-library']
rmSync(outdir, { recursive: true, force: true })
mkdirSync(outdir, { recursive: true })

/**
 * Packages bundled separately (each a leaf: none imports tsops code, so no class is duplicated)
 * and loaded on first use through the launcher, with a code cache of their own. re2js is not
 * imported but required on demand (src/core/regex.ts, through __tsopsVendor).
 */
const VENDORED = ['age-encryption', 'smol-toml', 'toml-eslint-parser', 're2js', '@grpc/grpc-js']
/** A vendored package's file name in dist/cli/vendor: its npm name without the scope. */
const vendorFile = (name) => name.replace(/^@[^/]+\//, '')
/**
 * What a vendored package may still require from node_modules: grpc-js loads proto-loader only
 * for its channelz and ORCA services, which the key service never registers.
 */
const VENDOR_EXTERNAL = { '@grpc/grpc-js': ['@grpc/proto-loader'] }

/** CommonJS's own wrapper, written into every bundle so the launcher compiles it as it is. */
const WRAPPER_START = '(function (exports, require, module, __filename, __dirname) {'
const WRAPPER_END = '\n})'

function assertAscii(code, name) {
  if (/[^\x00-\x7f]/.test(code)) throw new Error(`bundle.mjs: ${name} must be ASCII (the launcher reads it as latin1)`)
}

/** Content hash of every bundle written, by name relative to outdir: the launcher's code-cache key. */
const bundleHashes = {}
function writeBundle(name, code) {
  assertAscii(code, name)
  writeFileSync(path.join(outdir, name), code)
  bundleHashes[name] = createHash('sha256').update(code, 'latin1').digest('hex').slice(0, 32)
}

const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  charset: 'ascii', // lets the launcher read the bundle as latin1, skipping UTF-8 decoding
  // import() becomes require(): a vm.Script (the code cache launcher) has no module loader on
  // node 20, and every module we load lazily is CommonJS or bundled as such.
  supported: { 'dynamic-import': false },
  logLevel: 'warning',
}

const vendorPlugin = {
  name: 'vendor',
  setup(b) {
    const filter = new RegExp(`^(${VENDORED.map((v) => v.replace(/[-/]/g, '\\$&')).join('|')})$`)
    b.onResolve({ filter }, (args) => ({ path: `./vendor/${vendorFile(args.path)}.cjs`, external: true }))
  },
}

/**
 * node:os, node:module and node:tty cost ~0.2 ms or more each to load (tty brings net) and a
 * decrypt never calls them (a home directory when $HOME is unset, a hostname when writing a lock,
 * createRequire for re2js and the GCP SDK, isatty for a progress line), yet modules import them
 * at the top. In the bundles they are replaced by stand-ins
 * that load the real module on first use: every export of the real module, functions as
 * wrappers, other values as getters on the default export. A named import of a non-function
 * export fails the build rather than silently reading undefined.
 */
const lazyBuiltinsPlugin = {
  name: 'lazy-builtins',
  setup(b) {
    // The stand-in's own require() of the builtin stays a plain runtime require.
    b.onResolve({ filter: /^node:(os|module|tty)$/ }, (args) =>
      args.namespace === 'lazy-builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'lazy-builtin' },
    )
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, async (args) => {
      const real = await import(args.path)
      const names = Object.keys(real).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k))
      const lines = [`let m;const load=()=>m??=require(${JSON.stringify(args.path)});`]
      for (const k of names) if (typeof real[k] === 'function') lines.push(`export function ${k}(...a){return load().${k}(...a)}`)
      lines.push(`export default {${names.map((k) => `get ${k}(){return load().${k}}`).join(',')}};`)
      return { contents: lines.join('\n'), loader: 'js' }
    })
  },
}

/**
 * Two bundles of the same CLI: main.cjs, the start-up bundle (src/cli/bin-start.ts: decrypt,
 * encrypt, Terraform), and full.cjs (src/cli/bin.ts: every command). The launcher loads one of
 * them per run; they never share objects, so each may have its own copy of the core.
 */
for (const [entry, outName] of [['src/cli/bin-start.ts', 'main.cjs'], ['src/cli/bin.ts', 'full.cjs']]) {
  const result = await build({
    ...common,
    entryPoints: [path.join(root, entry)],
    outfile: path.join(outdir, outName),
    write: false,
    define: { TSOPS_VERSION: JSON.stringify(pkg.version), 'import.meta.url': '__tsopsModuleUrl' },
    // The bundle is written as the function the launcher compiles (CommonJS's own wrapper), so the
    // launcher need not concatenate a copy of it on every start. import.meta.url of the bundle is
    // for the few modules that locate files next to the package.
    banner: { js: WRAPPER_START + '"use strict";var __tsopsModuleUrl=require("node:url").pathToFileURL(__filename).href,__tsopsBuiltins={},__tsopsVendor=(n)=>require("./vendor/"+n+".cjs");' },
    footer: { js: WRAPPER_END },
    external: [...CLOUD_SDKS, 'simple-git'],
    plugins: [vendorPlugin, lazyBuiltinsPlugin],
    // yaml's ES module build: esbuild can drop what the CLI never calls (its CommonJS build cannot
    // be tree-shaken), and it has no LOG_TOKENS/LOG_STREAM switches that would print a parsed
    // file's tokens to stdout.
    alias: { yaml: path.join(root, 'node_modules/yaml/browser/dist/index.js') },
  })
  writeBundle(outName, shareBuiltins(result.outputFiles[0].text))
}

mkdirSync(path.join(outdir, 'vendor'))
for (const name of VENDORED) {
  const file = `vendor/${vendorFile(name)}.cjs`
  const result = await build({ ...common, entryPoints: [name], outfile: path.join(outdir, file), absWorkingDir: root, write: false, external: VENDOR_EXTERNAL[name] ?? [] })
  // The package's own "use strict" (if any) stays the first statement, so it keeps its meaning.
  writeBundle(file, WRAPPER_START + result.outputFiles[0].text + WRAPPER_END)
}

// The launcher, with the bundles' hashes written into it: it keys its code caches by them
// without hashing anything at start-up.
const LAUNCHER_HASHES = '{} /* @bundle-hashes */'
const launcher = readFileSync(path.join(root, 'scripts/launcher.cjs'), 'utf8')
if (launcher.split(LAUNCHER_HASHES).length !== 2) throw new Error(`bundle.mjs: scripts/launcher.cjs must contain ${LAUNCHER_HASHES} once`)
writeFileSync(path.join(outdir, 'tsops.cjs'), launcher.replace(LAUNCHER_HASHES, () => JSON.stringify(bundleHashes)), { mode: 0o755 })
chmodSync(path.join(outdir, 'tsops.cjs'), 0o755)

/**
 * The library for `require('tsops')` (package.json exports: "require"): src/index.ts as one
 * CommonJS file beside tsc's ES modules in dist/lib. Its dependencies are bundled (age-encryption
 * and toml-eslint-parser have no CommonJS build); formats and key sources still initialise on
 * first use, and cloud SDKs stay outside and load only when a file uses them.
 */
if (buildLibrary) {
  await build({
    ...common,
    minify: false,
    keepNames: true, // error classes name themselves (err.name) after their class
    charset: 'utf8',
    entryPoints: [path.join(root, 'src/index.ts')],
    outfile: path.join(root, 'dist/lib/index.cjs'),
    external: CLOUD_SDKS,
    define: { 'import.meta.url': '__tsopsLibraryUrl' },
    banner: { js: 'var __tsopsLibraryUrl=require("node:url").pathToFileURL(__filename).href;' },
    supported: {},
  })
}

/**
 * esbuild gives every module that imports `node:fs` its own ESM view of it (`__toESM`, which
 * defines a getter per export: ~100 for fs). One shared view per built-in is enough.
 */
function shareBuiltins(code) {
  const toEsmOfBuiltin = /([A-Za-z_$][\w$]*)\(require\("(node:[a-z_/]+)"\),\s*1\)/g
  const calls = [...code.matchAll(toEsmOfBuiltin)]
  const helpers = new Set(calls.map((m) => m[1]))
  if (calls.length === 0 || helpers.size !== 1) throw new Error(`bundle.mjs: unexpected __toESM calls (${[...helpers].join(', ')}); update shareBuiltins`)
  return code.replace(toEsmOfBuiltin, (_, toEsm, id) => `(__tsopsBuiltins["${id}"]??=${toEsm}(require("${id}"),1))`)
}
