// What the publish tests do with an object read back from a bucket.
import fs from 'node:fs'
import path from 'node:path'
import { runCli } from '../helpers/cli.js'
import type { CliWorkspace } from '../helpers/workspace.js'

/** `tsops decrypt` of uploaded bytes, saved under `name` (its extension gives the format), with `identity`. */
export async function decryptObject(ws: CliWorkspace, bytes: Buffer, name: string, identity = ws.age.identity): Promise<{ code: number; text: string; stderr: string }> {
  const file = path.join(fs.mkdtempSync(path.join(ws.dir, 'got-')), name)
  fs.writeFileSync(file, bytes)
  const r = await runCli(['decrypt', file], { env: ws.env({ SOPS_AGE_KEY: identity }) })
  return { code: r.code, text: r.stdout.toString(), stderr: r.stderr }
}

let projects = 0

/** A project dir with a new bucket (made by `createBucket`) and a .sops.yaml whose `BUCKET` names it. */
export async function bucketProject(ws: CliWorkspace, config: string, createBucket: (name: string) => Promise<void>): Promise<{ dir: string; bucket: string }> {
  const bucket = `bucket-${process.pid}-${++projects}`
  await createBucket(bucket)
  const dir = fs.mkdtempSync(path.join(ws.dir, 'p-'))
  fs.writeFileSync(path.join(dir, '.sops.yaml'), config.replaceAll('BUCKET', bucket))
  return { dir, bucket }
}
