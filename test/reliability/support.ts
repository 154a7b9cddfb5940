/**
 * Shared pieces of the reliability tests: a seeded PRNG and byte mutations, sample plaintexts
 * for every format, and the in-process CLI runner (main.ts `run` + `reportError`, exactly what
 * `tsops` does, with stderr captured instead of printed).
 */
import fs from 'node:fs'
import path from 'node:path'
import { buildSync } from 'esbuild'
import { vi } from 'vitest'
import { REPO_ROOT } from '../helpers/paths.js'
import { run, reportError } from '../../src/cli/main.js'
import { loadCommand } from '../../src/cli/commands.js'

// ---- seeded randomness ------------------------------------------------------------------------

/** mulberry32: small, fast and reproducible from a logged seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export type MutationKind = 'bitflip' | 'truncate' | 'delete' | 'duplicate' | 'byte'
export const MUTATION_KINDS: readonly MutationKind[] = ['bitflip', 'truncate', 'delete', 'duplicate', 'byte']

/** Bytes that matter to the parsers: a random one of these lands on structure more often. */
const STRUCTURAL = Buffer.from('{}[]:,"\'\n\r\t =#;-&*!|>\\`ENC0/+')

export interface Mutation {
  kind: MutationKind
  bytes: Buffer
  /** Human description for failure messages (offsets, lengths; never contents). */
  what: string
}

/** One random mutation of `input` that changes it. */
export function mutate(input: Buffer, rand: () => number, kind: MutationKind): Mutation {
  const int = (n: number) => Math.floor(rand() * n)
  // Nothing to flip, cut or copy in an empty input: the only change is to add a byte.
  if (input.length === 0) return { kind, bytes: Buffer.from([STRUCTURAL[int(STRUCTURAL.length)]!]), what: 'one byte added to an empty input' }
  for (;;) {
    const at = int(input.length)
    const len = 1 + int(Math.min(64, input.length - at))
    let bytes: Buffer
    let what: string
    switch (kind) {
      case 'bitflip': {
        bytes = Buffer.from(input)
        const flips = 1 + int(3)
        for (let k = 0; k < flips; k++) {
          const i = int(bytes.length)
          bytes[i]! ^= 1 << int(8)
        }
        what = `${flips} bit flips`
        break
      }
      case 'truncate':
        bytes = input.subarray(0, at)
        what = `truncated to ${at} of ${input.length} bytes`
        break
      case 'delete':
        bytes = Buffer.concat([input.subarray(0, at), input.subarray(at + len)])
        what = `deleted ${len} bytes at ${at}`
        break
      case 'duplicate': {
        const to = int(input.length + 1)
        bytes = Buffer.concat([input.subarray(0, to), input.subarray(at, at + len), input.subarray(to)])
        what = `copied ${len} bytes from ${at} to ${to}`
        break
      }
      case 'byte': {
        bytes = Buffer.from(input)
        bytes[at] = rand() < 0.5 ? STRUCTURAL[int(STRUCTURAL.length)]! : int(256)
        what = `byte ${at} replaced`
        break
      }
    }
    if (!bytes.equals(input)) return { kind, bytes, what }
  }
}

// ---- sample plaintexts ------------------------------------------------------------------------

export type SampleFormat = 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary' | 'toml'

export const EXTENSION: Record<SampleFormat, string> = { yaml: 'yaml', json: 'json', dotenv: 'env', ini: 'ini', binary: 'bin', toml: 'toml' }

/** The secret every sample holds; tests assert it never shows up where it must not. */
export const SECRET = 'hunter2-S3CR3T-value'

export const SAMPLES: Record<SampleFormat, string | Buffer> = {
  yaml: [
    '# database settings',
    'db:',
    '    user: admin',
    `    password: ${SECRET}`,
    '    port: 5432',
    '    ratio: 0.75',
    '    enabled: true',
    '    since: 2024-01-02T03:04:05Z',
    'hosts:',
    '    - alpha # first',
    '    - beta',
    'public_unencrypted: visible',
    'multi: |-',
    '    line one',
    '    line two',
    '',
  ].join('\n'),
  json: `{\n\t"db": {\n\t\t"user": "admin",\n\t\t"password": "${SECRET}",\n\t\t"port": 5432,\n\t\t"ratio": 0.75,\n\t\t"on": true,\n\t\t"none": null\n\t},\n\t"list": [\n\t\t"a",\n\t\t{\n\t\t\t"k": "v"\n\t\t}\n\t],\n\t"public_unencrypted": "visible",\n\t"unicode": "h\u00e9llo \u2603"\n}\n`,
  dotenv: `# env comment\nUSER=admin\nPASSWORD=${SECRET}\nMULTI=one\\ntwo\nPUBLIC_unencrypted=visible\nEMPTY=\n`,
  ini: `; top comment\n[db]\nuser     = admin\npassword = ${SECRET}\n; port comment\nport     = 5432\n\n[public]\nname_unencrypted = visible\n`,
  binary: Buffer.concat([Buffer.from(`${SECRET}\n`), Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x0a])]),
  toml: `# toml comment\ntitle = "demo"\n\n[db]\nuser = "admin"\npassword = "${SECRET}"\nport = 5432\nratio = 0.75\nhosts = ["alpha", "beta"]\n`,
}

// ---- the CLI in-process -----------------------------------------------------------------------

export interface InProcessResult {
  code: number
  stderr: string
  /** What run() threw, if anything (for instanceof checks). */
  error: unknown
}

/**
 * `tsops <args>` in this process: main.ts `run`, and on failure `reportError` — the same code
 * path bin.ts takes. Writes to fd 2 are captured; output must go to a file (`--output`).
 */
export async function runInProcess(args: string[]): Promise<InProcessResult> {
  const captured: string[] = []
  const realWriteSync = fs.writeSync
  const spy = vi.spyOn(fs, 'writeSync').mockImplementation(((fd: number, data: string | NodeJS.ArrayBufferView, ...rest: unknown[]) => {
    if (fd === 2) {
      captured.push(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString())
      return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength
    }
    return (realWriteSync as (...a: unknown[]) => number)(fd, data, ...rest)
  }) as typeof fs.writeSync)
  // Warnings go through process.stderr.write: capture those too.
  const streamSpy = vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array) => {
    captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString())
    return true
  }) as typeof process.stderr.write)
  try {
    const code = await run(args, loadCommand)
    return { code, stderr: captured.join(''), error: undefined }
  } catch (err) {
    const code = reportError(err, args.includes('--verbose'))
    return { code, stderr: captured.join(''), error: err }
  } finally {
    spy.mockRestore()
    streamSpy.mockRestore()
  }
}

/** A stack trace line as node prints it. */
export const STACK_LINE = /^\s+at .+(:\d+:\d+\)?|\(native\)|<anonymous>\)?)$/m

// ---- child processes running repo code --------------------------------------------------------

/**
 * Bundle a small TypeScript program (it may import from `src/` through the REPO alias, e.g.
 * `import { withFileLock } from 'REPO/src/io/files.js'`) into `dir` and return the .mjs path,
 * so tests can run real concurrent processes against the library code.
 */
export function bundleScript(dir: string, name: string, source: string): string {
  const entry = path.join(dir, `${name}.ts`)
  const outfile = path.join(dir, `${name}.mjs`)
  fs.writeFileSync(entry, source.replaceAll("'REPO/", `'${REPO_ROOT}/`))
  buildSync({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'error' })
  return outfile
}
