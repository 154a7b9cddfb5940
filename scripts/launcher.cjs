#!/usr/bin/env node
'use strict'
// The `tsops` command: runs the bundled CLI (main.cjs) through a V8 code cache kept in the
// user's cache directory. Node 20 has no built-in compile cache, and parsing/compiling the
// bundle is a large share of a cold `tsops decrypt`; with the cache, a run after the first skips
// most of it. The cache holds compiled code only (never data), lives in a private 0700
// directory, is keyed by node version and the bundle's size and mtime, and is an optimisation:
// any problem with it is ignored. TSOPS_NO_CODE_CACHE=1 turns it off.
const fs = require('node:fs')
const path = require('node:path')
const vm = require('node:vm')

const file = path.join(__dirname, 'main.cjs')
// The bundle is ASCII (esbuild's charset: 'ascii'), so latin1 reads it exactly and skips UTF-8 decoding.
const source = fs.readFileSync(file, 'latin1')
const cache = cacheFile(file)
let cachedData
if (cache) {
  try {
    cachedData = fs.readFileSync(cache)
  } catch {
    cachedData = undefined
  }
}
// main.cjs is one function expression, CommonJS's wrapper included (see scripts/bundle.mjs), and
// contains no import(), so the script needs no module loader.
const script = new vm.Script(source, { filename: file, cachedData })
if (cache && (cachedData === undefined || script.cachedDataRejected)) process.once('exit', () => saveCache(script, cache))
const mod = { exports: {} }
script.runInThisContext()(mod.exports, require, mod, file, __dirname)

function cacheFile(bundle) {
  if (process.env.TSOPS_NO_CODE_CACHE) return undefined
  try {
    const base = process.env.XDG_CACHE_HOME || path.join(process.env.HOME || require('node:os').homedir(), '.cache')
    const st = fs.statSync(bundle)
    return path.join(base, 'tsops', `code-${process.version}-${process.arch}-${st.size}-${Math.floor(st.mtimeMs)}.bin`)
  } catch {
    return undefined
  }
}

function saveCache(compiled, target) {
  try {
    const dir = path.dirname(target)
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
    for (const old of fs.readdirSync(dir)) if (old.startsWith('code-') && path.join(dir, old) !== target) fs.rmSync(path.join(dir, old), { force: true })
    const tmp = `${target}.${process.pid}.tmp`
    fs.writeFileSync(tmp, compiled.createCachedData(), { mode: 0o600 })
    fs.renameSync(tmp, target)
  } catch {
    // A read-only home or a full disk only costs speed.
  }
}
