/**
 * A `sops` on PATH for integration tests: the repo's own bin/sops (the file npm installs as the
 * `sops` command), laid out beside the test run's private CLI bundle (TSOPS_CLI) the way the
 * installed package lays it out beside dist/cli. Nothing is written into the repo.
 */
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { CLI, REPO_ROOT } from '../helpers/paths.js'
import { cleanEnv, type CliResult } from '../helpers/cli.js'

export interface SopsBin {
  /** Put this first on PATH. */
  binDir: string
  cleanup(): void
}

export function makeSopsBin(): SopsBin {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-sops-bin-'))
  fs.mkdirSync(path.join(root, 'bin'))
  for (const f of ['sops', 'package.json']) fs.copyFileSync(path.join(REPO_ROOT, 'bin', f), path.join(root, 'bin', f))
  fs.chmodSync(path.join(root, 'bin', 'sops'), 0o755)
  fs.mkdirSync(path.join(root, 'dist'))
  fs.symlinkSync(path.dirname(CLI), path.join(root, 'dist', 'cli'))
  return { binDir: path.join(root, 'bin'), cleanup: () => fs.rmSync(root, { recursive: true, force: true }) }
}

/** cleanEnv() plus `sops` first on PATH. */
export function envWithSops(bin: SopsBin, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return cleanEnv({ PATH: `${bin.binDir}${path.delimiter}${process.env.PATH ?? ''}`, ...extra })
}

/**
 * Run a POSIX shell snippet, as helm-secrets does (`$_SOPS "$@" 2>&1`): `$1…` are `args`, and
 * stderr is captured apart so a test can also check the merged stream stays clean.
 */
export function sh(script: string, args: string[], options: { env: Record<string, string | undefined>; cwd?: string; input?: string | Buffer }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script, 'sh', ...args], { env: options.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') }))
    child.stdin.on('error', () => undefined)
    child.stdin.end(options.input ?? '')
  })
}

/** helm-secrets's checks, run with the real grep: is it encrypted, is it a binary file. */
export const GREP_ENCRYPTED = `grep -q 'mac.*,type:str]' "$1"`
export const GREP_BINARY = `grep -q '"data": "ENC' "$1"`

/**
 * The command lines helm-secrets's sops backend runs (`$_SOPS … 2>&1`): $1 = type, $2 = input,
 * $3 = output. Written from its documented behaviour; stderr is merged into the result exactly
 * as there, so a stray warning would corrupt the decrypted values it hands to helm.
 */
export const HELM = {
  encryptInPlace: `sops --encrypt --input-type "$1" --output-type "$1" --in-place "$2" 2>&1`,
  encryptStdout: `sops --encrypt --input-type "$1" --output-type "$1" "$2" 2>&1`,
  encryptOutput: `sops --encrypt --input-type "$1" --output-type "$1" --output "$3" "$2" 2>&1`,
  decryptInPlace: `sops --decrypt --input-type "$1" --output-type "$1" --in-place "$2" 2>&1`,
  decryptStdout: `sops --decrypt --input-type "$1" --output-type "$1" "$2" 2>&1`,
  decryptOutput: `sops --decrypt --input-type "$1" --output-type "$1" --output "$3" "$2" 2>&1`,
  /** A whole encrypted JSON document passed as one argument and piped in. */
  decryptLiteral: `printf '%s' "$1" | sops --decrypt --input-type 'json' --output-type 'json' /dev/stdin 2>&1`,
  /** `helm secrets edit FILE`: cd into the file's directory (so .sops.yaml is found from there), bare FILE. */
  edit: `cd "$(dirname "$1")" && sops --input-type yaml --output-type yaml "$(basename "$1")" 2>&1`,
  /** The type helm-secrets guesses for an encrypted file ("auto"). */
  detectType: `if grep -xq 'sops:\\s*' "$1"; then echo yaml; elif grep -q '"data": "ENC' "$1"; then echo binary; else echo json; fi`,
} as const
