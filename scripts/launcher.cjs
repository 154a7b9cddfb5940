#!/usr/bin/env node
'use strict'
// The `tsops` command: runs a bundled CLI through a V8 code cache kept in the user's cache
// directory. Node 20 has no built-in compile cache, and parsing/compiling the bundle is a large
// share of a cold `tsops decrypt`; with the cache, a run after the first skips most of it. The
// cache holds compiled code only (never data) and is an optimisation: any problem with it is
// ignored. TSOPS_NO_CODE_CACHE=1 turns it off.
//
// Cached bytecode is code that runs, and V8 checks only the source's length and its own flags
// before running it. So a cache is used only when (a) its name carries the hash of the bundle's
// content taken at build time (BUNDLE_HASHES: an upgrade of the same size and mtime never runs
// the old code, and no bundle is hashed at start-up) and (b) its directory and file belong to
// the current user and nobody else can write them (a cache folder in a shared HOME=/tmp, or one
// restored from elsewhere, must not run someone else's code as whoever runs tsops next).
//
// Two bundles (scripts/bundle.mjs): main.cjs has only the commands that must start fastest
// (decrypt, encrypt — also as sops's -d/-e — and Terraform's data source); full.cjs has all of
// them. The first argument picks one; a guess that turns out wrong costs time, never behaviour,
// because main.cjs hands any other command over to full.cjs before doing anything.
const fs = require('node:fs')
const path = require('node:path')
const vm = require('node:vm')

/**
 * sha256 (32 hex digits) of each bundle's content, by file name relative to this file. Filled in
 * by scripts/bundle.mjs when it copies this file next to the bundles; without it (this source
 * file run as it is) no cache is used.
 */
const BUNDLE_HASHES = {} /* @bundle-hashes */

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
  const cache = cacheFile(name, cacheName, variant)
  // The bundle is ASCII (esbuild's charset: 'ascii'), so latin1 reads it exactly and skips UTF-8 decoding.
  const source = fs.readFileSync(file, 'latin1')
  const cachedData = cache && privateDir(path.dirname(cache.file)) ? readPrivateFile(cache.file) : undefined
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

/** `name`: the bundle's file name relative to this file (the key of BUNDLE_HASHES). */
function cacheFile(name, cacheName, variant) {
  const hash = BUNDLE_HASHES[name]
  // Ownership is what makes a cache trustworthy: without uids (Windows) there is no cache.
  if (process.env.TSOPS_NO_CODE_CACHE || typeof hash !== 'string' || typeof process.getuid !== 'function') return undefined
  const base = process.env.XDG_CACHE_HOME || path.join(process.env.HOME || require('node:os').homedir(), '.cache')
  const prefix = `code-${cacheName}-`
  const build = `-${process.version}-${process.arch}-${hash}.bin`
  return { file: path.join(base, 'tsops', `${prefix}${variant}${build}`), prefix, build }
}

/** Owned by the current user, and writable by nobody else. */
function ownedPrivately(st) {
  return st.uid === process.getuid() && (st.mode & 0o022) === 0
}

/** lstat, so a symlink is refused rather than followed; checked once per run and directory. */
const dirVerdicts = new Map()
function privateDir(dir) {
  let verdict = dirVerdicts.get(dir)
  if (verdict === undefined) {
    try {
      const st = fs.lstatSync(dir)
      verdict = st.isDirectory() && ownedPrivately(st)
    } catch {
      verdict = false
    }
    dirVerdicts.set(dir, verdict)
  }
  return verdict
}

/** The file's bytes if it is a regular private file (checked on the open descriptor, no symlink followed). */
function readPrivateFile(file) {
  let fd
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
    const st = fs.fstatSync(fd)
    return st.isFile() && ownedPrivately(st) ? fs.readFileSync(fd) : undefined
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

function saveCache(compiled, cache) {
  const dir = path.dirname(cache.file)
  const tmp = `${cache.file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  let fd
  let made = false
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    dirVerdicts.delete(dir) // it may have been made just now
    if (!privateDir(dir)) return
    // Caches of other builds of this bundle go, whatever their command (and files of bundles
    // that no longer exist); this build's caches for other commands and the other bundle's stay.
    for (const old of fs.readdirSync(dir)) {
      const otherBuild = old.startsWith(cache.prefix) && !old.endsWith(cache.build)
      const unknown = old.startsWith('code-') && !/^code-(main|full|vendor)-/.test(old)
      if (otherBuild || unknown) fs.rmSync(path.join(dir, old), { force: true })
    }
    // A new file of our own (O_EXCL: never an existing file or symlink), renamed into place whole.
    const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants
    fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600)
    made = true
    fs.writeFileSync(fd, compiled.createCachedData())
    fs.closeSync(fd)
    fd = undefined
    fs.renameSync(tmp, cache.file)
  } catch {
    // A read-only home or a full disk only costs speed; a temp file we made goes.
    try {
      if (fd !== undefined) fs.closeSync(fd)
      if (made) fs.rmSync(tmp, { force: true })
    } catch {
      // nothing more to do
    }
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
