#!/usr/bin/env node
'use strict'
// The `tsops` command: runs a bundled CLI through a V8 code cache kept in the user's cache
// directory. Node 20 has no built-in compile cache, and parsing/compiling the bundle is a large
// share of a cold `tsops decrypt`; with the cache, a run after the first skips most of it. The
// cache holds compiled code only (never data), lives in a private 0700 directory, is keyed by
// command, node version and the bundle's size and mtime, and is an optimisation: any problem
// with it is ignored. TSOPS_NO_CODE_CACHE=1 turns it off.
//
// Two bundles (scripts/bundle.mjs): main.cjs has only the commands that must start fastest
// (decrypt, encrypt — also as sops's -d/-e — and Terraform's data source); full.cjs has all of
// them. The first argument picks one; a guess that turns out wrong costs time, never behaviour,
// because main.cjs hands any other command over to full.cjs before doing anything.
const fs = require('node:fs')
const path = require('node:path')
const vm = require('node:vm')

/** First arguments for which the start-up bundle is tried: its commands, or flags (sops style). */
const STARTUP_WORDS = new Set(['decrypt', 'encrypt'])
const args = process.argv.slice(2)
const first = args[0]
/** Caches to write at exit, by bundle. */
const pendingSaves = new Map()
process.once('exit', () => pendingSaves.forEach((save) => save()))

/** Compile and run one bundle (a CommonJS function expression, no import()); its exports. */
function runBundle(name) {
  return compileAndRun(name, name.replace(/\.cjs$/, ''), cacheVariant(args))
}

/**
 * What the bundles get as `require`: a vendored package (dist/cli/vendor, see bundle.mjs) is
 * compiled here with a code cache of its own, once; anything else is node's require.
 */
const vendored = new Map()
function bundleRequire(id) {
  const vendor = /^\.\/vendor\/([a-z0-9-]+)\.cjs$/.exec(id)
  if (!vendor) return require(id)
  let exports = vendored.get(vendor[1])
  if (exports === undefined) {
    exports = compileAndRun(`vendor/${vendor[1]}.cjs`, `vendor-${vendor[1]}`, 'all')
    vendored.set(vendor[1], exports)
  }
  return exports
}
bundleRequire.resolve = require.resolve

/** `cacheName`/`variant` name its code cache: code-<cacheName>-<variant>-<build>.bin. */
function compileAndRun(name, cacheName, variant) {
  const file = path.join(__dirname, name)
  const cache = cacheFile(file, cacheName, variant)
  // The bundle is ASCII (esbuild's charset: 'ascii'), so latin1 reads it exactly and skips UTF-8 decoding.
  const source = fs.readFileSync(file, 'latin1')
  let cachedData
  if (cache) {
    try {
      cachedData = fs.readFileSync(cache.file)
    } catch {
      cachedData = undefined
    }
  }
  const script = new vm.Script(source, { filename: file, cachedData })
  if (cache && (cachedData === undefined || script.cachedDataRejected)) pendingSaves.set(name, () => saveCache(script, cache))
  const mod = { exports: {} }
  script.runInThisContext()(mod.exports, bundleRequire, mod, file, path.dirname(file))
  return mod.exports
}

/**
 * The cache holds what the run that wrote it compiled, so each command, and each file format it
 * works on, gets its own: a first `encrypt` of JSON must not leave every later `decrypt` of YAML
 * compiling its own code from source (~2 ms). Both are guessed from the arguments (the format
 * from --input-type or the last argument's extension); a wrong guess only picks a less fitting
 * cache.
 */
function cacheVariant(argv) {
  return `${commandOf(argv)}-${formatOf(argv)}`
}

function commandOf(argv) {
  if (argv.includes('-d') || argv.includes('--decrypt')) return 'decrypt'
  if (argv.includes('-e') || argv.includes('--encrypt')) return 'encrypt'
  const word = argv.find((a) => !a.startsWith('-'))
  return word !== undefined && /^[a-z][a-z-]{0,20}$/.test(word) ? word : 'other'
}

function formatOf(argv) {
  const typed = argv.indexOf('--input-type')
  const hint = typed !== -1 ? argv[typed + 1] ?? '' : path.extname(argv[argv.length - 1] ?? '').slice(1)
  const known = { yaml: 'yaml', yml: 'yaml', json: 'json', env: 'dotenv', dotenv: 'dotenv', ini: 'ini', toml: 'toml', binary: 'binary' }
  return known[hint] ?? 'other'
}

function cacheFile(bundle, cacheName, variant) {
  if (process.env.TSOPS_NO_CODE_CACHE) return undefined
  try {
    const base = process.env.XDG_CACHE_HOME || path.join(process.env.HOME || require('node:os').homedir(), '.cache')
    const st = fs.statSync(bundle)
    const prefix = `code-${cacheName}-`
    const build = `-${process.version}-${process.arch}-${st.size}-${Math.floor(st.mtimeMs)}.bin`
    return { file: path.join(base, 'tsops', `${prefix}${variant}${build}`), prefix, build }
  } catch {
    return undefined
  }
}

function saveCache(compiled, cache) {
  try {
    const dir = path.dirname(cache.file)
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    // Caches of other builds of this bundle go, whatever their command (and files of bundles
    // that no longer exist); this build's caches for other commands and the other bundle's stay.
    for (const old of fs.readdirSync(dir)) {
      const otherBuild = old.startsWith(cache.prefix) && !old.endsWith(cache.build)
      const unknown = old.startsWith('code-') && !/^code-(main|full|vendor)-/.test(old)
      if (otherBuild || unknown) fs.rmSync(path.join(dir, old), { force: true })
    }
    const tmp = `${cache.file}.${process.pid}.tmp`
    fs.writeFileSync(tmp, compiled.createCachedData(), { mode: 0o600 })
    fs.renameSync(tmp, cache.file)
  } catch {
    // A read-only home or a full disk only costs speed.
  }
}

// Run: everything above is declared by now.
if (first === undefined || first.startsWith('-') || STARTUP_WORDS.has(first)) {
  runBundle('main.cjs').main(() => {
    // A run handed over is not what the start-up bundle is for: no cache of it from this run.
    pendingSaves.delete('main.cjs')
    return runBundle('full.cjs').main()
  })
} else {
  runBundle('full.cjs').main()
}
