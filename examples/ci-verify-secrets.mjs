#!/usr/bin/env node
// CI check: every given file must be a sops file that decrypts with the CI's key and whose MAC
// verifies. A plaintext file committed by mistake, a file the CI key cannot open, or a tampered
// file fails the job. Values are never printed.
//
//   npm install tsops
//   SOPS_AGE_KEY="${{ secrets.SOPS_AGE_KEY }}" node ci-verify-secrets.mjs $(git ls-files '*.enc.*')
//
// Keys come from the environment exactly as for the sops CLI (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE,
// GNUPGHOME, AWS/GCP/Azure credentials).
import { decryptFile, TsopsError } from 'tsops'

function countValues(value) {
  if (Array.isArray(value)) return value.reduce((n, v) => n + countValues(v), 0)
  if (value && typeof value === 'object' && !(value instanceof Date) && !(value instanceof Uint8Array)) {
    return Object.values(value).reduce((n, v) => n + countValues(v), 0)
  }
  return 1
}

const files = process.argv.slice(2)
if (files.length === 0) {
  console.error('usage: ci-verify-secrets.mjs FILE...')
  process.exit(2)
}

let failed = 0
for (const file of files) {
  try {
    const values = await decryptFile(file)
    console.log(`ok    ${file} (${countValues(values)} values)`)
  } catch (err) {
    failed++
    // The first line is enough in a CI log; the "no key could decrypt" error lists every key below it.
    const reason = err instanceof TsopsError ? `${err.code}: ${err.message.split('\n')[0]}` : String(err)
    console.log(`FAIL  ${file}: ${reason}`)
  }
}
console.log(`${files.length - failed} ok, ${failed} failed`)
process.exitCode = failed === 0 ? 0 : 1
