#!/usr/bin/env node
// `node real-sops.mjs FILE FORMAT`: the real sops 3.13.2 decrypts FILE as FORMAT (yaml, json,
// dotenv, ini, binary) to stdout, MAC checked. Exit 0 when it decrypted, 1 when sops refused the
// file (its reason on stderr), 2 when the binary is missing. It replaces the sops 3.9.2 library
// oracle: the binary comes from scripts/install-test-tools.sh (a cache outside the repo).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

// Tests often run this with a throw-away HOME: fall back to the account's own home (passwd).
const toolDirs = [
  process.env.TSOPS_TOOLS_DIR,
  process.env.XDG_CACHE_HOME && path.join(process.env.XDG_CACHE_HOME, 'tsops-tools'),
  path.join(os.homedir(), '.cache', 'tsops-tools'),
  path.join(os.userInfo().homedir, '.cache', 'tsops-tools'),
].filter(Boolean)
const sops = process.env.TSOPS_REAL_SOPS ?? toolDirs.map((d) => path.join(d, 'sops-v3.13.2', 'sops')).find((f) => fs.existsSync(f)) ?? path.join(toolDirs[0], 'sops-v3.13.2', 'sops')
const [file, format] = process.argv.slice(2)
if (!fs.existsSync(sops)) {
  process.stderr.write(`real sops not found at ${sops}: run scripts/install-test-tools.sh\n`)
  process.exit(2)
}
const r = spawnSync(sops, ['decrypt', '--input-type', format, '--output-type', format, file], { stdio: ['ignore', 'inherit', 'inherit'] })
process.exit(r.status === 0 ? 0 : 1)
