/**
 * The real age v1.3.1 tools for unit tests that check tsops's age code against age itself:
 * `age`, `age-keygen`, `age-plugin-batchpass` (age-v1.3.1) and the extra plugins
 * `age-plugin-tag`, `-tagpq`, `-pq` (age-extra-v1.3.1), built by scripts/install-test-tools.sh
 * into the tools cache (.ci/run runs it). A missing tool fails the test with that command, never
 * skips it.
 */
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const AGE_VERSION = 'v1.3.1'

function toolDirs(): string[] {
  const dirs = [
    process.env.TSOPS_TOOLS_DIR,
    process.env.XDG_CACHE_HOME && path.join(process.env.XDG_CACHE_HOME, 'tsops-tools'),
    path.join(os.homedir(), '.cache', 'tsops-tools'),
    path.join(os.userInfo().homedir, '.cache', 'tsops-tools'),
  ]
  return dirs.filter((d): d is string => typeof d === 'string' && d !== '')
}

/** The directory holding `binary` (age-vX or age-extra-vX), or a failure naming the install script. */
function binDir(folder: string, binary: string): string {
  for (const d of toolDirs()) {
    const dir = path.join(d, folder)
    if (fs.existsSync(path.join(dir, binary))) return dir
  }
  throw new Error(`${binary} (age ${AGE_VERSION}) is missing from ${toolDirs().join(', ')}: run scripts/install-test-tools.sh`)
}

export const ageBin = (name: 'age' | 'age-keygen' = 'age'): string => path.join(binDir(`age-${AGE_VERSION}`, name), name)

/** PATH with age's plugins first (age-plugin-batchpass, -tag, -tagpq, -pq), then the system's. */
export function pluginPath(): string {
  return [binDir(`age-${AGE_VERSION}`, 'age-plugin-batchpass'), binDir(`age-extra-${AGE_VERSION}`, 'age-plugin-tag'), process.env.PATH ?? ''].join(path.delimiter)
}

/** Run a real tool; its stdout, or an error with its stderr. */
export function runTool(command: string, args: string[], options: { input?: string | Uint8Array; env?: Record<string, string | undefined> } = {}): Buffer {
  const r = spawnSync(command, args, { input: options.input ?? '', env: { ...process.env, ...options.env } as NodeJS.ProcessEnv, maxBuffer: 1 << 24 })
  if (r.status !== 0) throw new Error(`${path.basename(command)} ${args.join(' ')} failed (${r.status}): ${r.stderr?.toString()}${r.error ? String(r.error) : ''}`)
  return r.stdout
}

/** A fresh SSH key pair from ssh-keygen (no passphrase unless given): [private key file, public key line]. */
export function sshKeygen(dir: string, name: string, args: string[], passphrase = ''): { file: string; publicKey: string } {
  const file = path.join(dir, name)
  runTool('ssh-keygen', ['-q', ...args, '-N', passphrase, '-C', `${name}@test`, '-f', file])
  return { file, publicKey: fs.readFileSync(`${file}.pub`, 'utf8').trim() }
}

/** A sops `enc` value (age's armor) as the bytes age reads. */
export function armorBody(enc: string): Buffer {
  return Buffer.from(enc.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64')
}

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'

/** Bech32 (BIP 173) of `data` under `hrp`, lower case: for test keys age has no generator for. */
export function bech32Encode(hrp: string, data: Uint8Array): string {
  const words: number[] = []
  let acc = 0
  let bits = 0
  for (const b of data) {
    acc = (acc << 8) | b
    bits += 8
    while (bits >= 5) {
      bits -= 5
      words.push((acc >> bits) & 31)
    }
  }
  if (bits > 0) words.push((acc << (5 - bits)) & 31)
  const lower = hrp.toLowerCase()
  const values = [...[...lower].map((c) => c.charCodeAt(0) >> 5), 0, ...[...lower].map((c) => c.charCodeAt(0) & 31), ...words, 0, 0, 0, 0, 0, 0]
  const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
  let chk = 1
  for (const v of values) {
    const top = chk >> 25
    chk = ((chk & 0x1ffffff) << 5) ^ v
    for (let i = 0; i < 5; i++) if ((top >> i) & 1) chk ^= GEN[i]!
  }
  chk ^= 1
  const checksum = Array.from({ length: 6 }, (_, i) => (chk >> (5 * (5 - i))) & 31)
  return `${lower}1${[...words, ...checksum].map((w) => CHARSET[w]).join('')}`
}
