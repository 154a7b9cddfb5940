#!/usr/bin/env node
// KMS fan-out benchmark: encrypting a small file to 10 AWS KMS keys vs to 1 key, through the
// built library (dist/lib, so `npm run build` first) and the real AWS SDK, against the loopback
// KMS of the tests started in this process (SigV4 checked on every request).
//
// Every key wraps the data key independently and the wraps run in parallel, so 10 keys should
// cost about one round trip, not ten: target tenMs / oneMs <= 1.5. A KMS round trip is tens of
// milliseconds in real life and ~0 on loopback, so the server answers after `latencyMs` to keep
// the measurement about waiting, not about loopback CPU alone (pass latencyMs: 0 to see that).
//
//   node bench/kms.mjs                 # prints the result
//   import { benchKms } from './kms.mjs'; await benchKms()  → { tenMs, oneMs, ratio, … }
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { median } from './measure.mjs'
import { cli as cliPath } from './sops.mjs'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const libDir = process.env.TSOPS_LIB_DIR ?? path.join(root, 'dist/lib')


export async function benchKms({ latencyMs = 20, runs = 41, warmup = 3 } = {}) {
  const lib = await import(pathToFileURL(path.join(libDir, 'index.js')).href)
  const { startKmsServerThread, testKeyArn, TEST_CREDENTIALS } = await import(pathToFileURL(path.join(root, 'test/helpers/servers/aws-kms-server.mjs')).href)
  // On its own thread: a real KMS's work does not run on the caller's event loop either.
  const server = await startKmsServerThread({ delayMs: latencyMs })
  try {
    // Only the env given here is used: the library never reads process.env for these.
    const env = {
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_KMS: server.url,
    }
    const text = 'db:\n    user: app\n    password: hunter2\nport: 5432\n'
    const arns = Array.from({ length: 10 }, (_, i) => testKeyArn(`bench-${i}`, 'eu-central-1'))
    const encryptTo = (keys) => lib.encrypt(text, { format: 'yaml', keys: keys.map((id) => ({ type: 'kms', id })), env })
    const time = async (keys) => {
      const t = process.hrtime.bigint()
      const out = await encryptTo(keys)
      const ms = Number(process.hrtime.bigint() - t) / 1e6
      if ((out.match(/arn: arn:aws:kms:/g) ?? []).length !== keys.length) throw new Error('encrypted file does not list every KMS key')
      return ms
    }
    for (let i = 0; i < warmup; i++) {
      await time(arns.slice(0, 1)) // the first call also loads the SDK
      await time(arns)
    }
    const one = []
    const ten = []
    for (let i = 0; i < runs; i++) {
      one.push(await time(arns.slice(0, 1)))
      ten.push(await time(arns))
    }
    const oneMs = median(one)
    const tenMs = median(ten)
    const encrypts = await server.count('Encrypt')
    return { tenMs, oneMs, ratio: tenMs / oneMs, latencyMs, runs, kmsEncryptCalls: encrypts }
  } finally {
    await server.close()
  }
}

/**
 * The same fan-out through the command lines, side by side with real sops: `encrypt --kms` of
 * a small YAML to 10 keys and to 1, and `decrypt` of the 10-key file, counting the KMS Decrypt
 * calls each decrypt makes (exactly one: the first key that opens the data key is enough).
 * → { ten: { tsops, sops }, one: { tsops, sops, tsopsSdk, tsopsAge? }, unwraps: { tsops, sops }, cpu? } (stats of ms; counts)
 */
export async function benchKmsCli({ work, recipient, latencyMs = 20, runs = 7 } = {}) {
  const { alternate, cli, realSops, run } = await import('./sops.mjs')
  const { startKmsServerThread, testKeyArn, TEST_CREDENTIALS } = await import(pathToFileURL(path.join(root, 'test/helpers/servers/aws-kms-server.mjs')).href)
  const server = await startKmsServerThread({ delayMs: latencyMs })
  try {
    const sops = realSops()
    const env = {
      PATH: process.env.PATH,
      HOME: work,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_KMS: server.url,
      AWS_REGION: 'eu-central-1',
    }
    const plain = path.join(work, 'kms-plain.yaml')
    fs.writeFileSync(plain, 'db:\n    user: app\n    password: hunter2\nport: 5432\n')
    const arns = Array.from({ length: 10 }, (_, i) => testKeyArn(`bench-${i}`, 'eu-central-1'))
    const tools = { tsops: [process.execPath, [cli]], sops: [sops, []] }
    const encryptTo = (who, n) => () => {
      const [cmd, pre] = tools[who]
      run(cmd, [...pre, 'encrypt', '--kms', arns.slice(0, n).join(','), '--output', path.join(work, `kms-${who}-${n}.yaml`), plain], { env })
    }
    const ten = alternate({ tsops: encryptTo('tsops', 10), sops: encryptTo('sops', 10) }, { runs, warmup: 1 })
    // With a recipient, tsops's same encrypt to an age key: the floor without any KMS call.
    const toAge = () => run(process.execPath, [cli, 'encrypt', '--age', recipient, '--output', path.join(work, 'kms-tsops-age.yaml'), plain], { env })
    // And the same encrypt through the AWS SDK (the path before tsops had its own KMS client).
    const viaSdk = () => run(process.execPath, [cli, 'encrypt', '--kms', arns[0], '--output', path.join(work, 'kms-tsops-sdk.yaml'), plain], { env: { ...env, TSOPS_AWS_KMS_CLIENT: 'sdk' } })
    const one = alternate({ tsops: encryptTo('tsops', 1), sops: encryptTo('sops', 1), tsopsSdk: viaSdk, ...(recipient ? { tsopsAge: toAge } : {}) }, { runs: 2 * runs + 1, warmup: 1 })
    const cpu = recipient ? cpuTimes({ work, env, plain, arn: arns[0], recipient, runs: 2 * runs + 1 }) : undefined
    const unwraps = {}
    for (const who of ['tsops', 'sops']) {
      const [cmd, pre] = tools[who]
      const file = path.join(work, `kms-${who}-10.yaml`)
      if ((fs.readFileSync(file, 'utf8').match(/arn: arn:aws:kms:/g) ?? []).length !== 10) throw new Error(`${who}: the file does not list every KMS key`)
      const before = await server.count('Decrypt')
      run(cmd, [...pre, 'decrypt', file], { env })
      unwraps[who] = (await server.count('Decrypt')) - before
    }
    return { ten, one, unwraps, latencyMs, cpu }
  } finally {
    await server.close()
  }
}

/**
 * CPU time (user + system, ms; median) of one tsops `encrypt` of the small file: to one KMS key
 * with tsops's own KMS client, the same through the AWS SDK (TSOPS_AWS_KMS_CLIENT=sdk), and to
 * an age key (no KMS call). Load-independent, unlike the wall-clock rows.
 */
function cpuTimes({ work, env, plain, arn, recipient, runs }) {
  const variants = {
    direct: [['--kms', arn], env],
    sdk: [['--kms', arn], { ...env, TSOPS_AWS_KMS_CLIENT: 'sdk' }],
    age: [['--age', recipient], env],
  }
  const out = {}
  for (const [name, [keyArgs, variantEnv]] of Object.entries(variants)) {
    const log = path.join(work, `cpu-${name}.log`)
    // Each variant keeps its own code cache, as it would on its own.
    const runEnv = { ...variantEnv, TSOPS_CPU_LOG: log, XDG_CACHE_HOME: path.join(work, `cache-${name}`) }
    for (let i = 0; i < runs + 2; i++) {
      const r = spawnSync(process.execPath, ['-r', path.join(root, 'bench/cpu-log.cjs'), cliPath, 'encrypt', ...keyArgs, '--output', path.join(work, `cpu-${name}.yaml`), plain], { env: runEnv, encoding: 'utf8' })
      if (r.status !== 0) throw new Error(`tsops encrypt (${name}) failed: ${r.stderr}`)
    }
    const us = fs.readFileSync(log, 'utf8').trim().split('\n').map(Number).slice(2) // the first two fill the code cache
    out[name] = median(us) / 1000
  }
  return out
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const latencyMs of [20, 0]) {
    const r = await benchKms({ latencyMs })
    console.log(
      `encrypt a small YAML to 10 KMS keys vs 1 (server latency ${latencyMs} ms): ${r.tenMs.toFixed(1)} ms vs ${r.oneMs.toFixed(1)} ms = ${r.ratio.toFixed(2)}x` +
        `${latencyMs > 0 ? ` (target <= 1.5x)${r.ratio <= 1.5 ? '  OK' : '  ABOVE TARGET'}` : ' (loopback CPU only, informational)'}`,
    )
  }
}
