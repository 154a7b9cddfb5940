// Decrypting 200 small files: one `tsops decrypt f1 … f200 --output-dir out` process vs what a
// sops user runs, a loop of `sops decrypt --output out/fN fN` (one process per file).
import fs from 'node:fs'
import path from 'node:path'
import { alternate, cli, realSops, root, run } from './sops.mjs'

export async function benchBulk({ work, env, recipient, files = 200, runs = 3 }) {
  const lib = await import(path.join(root, 'dist/lib/index.js'))
  const sops = realSops()
  const dir = path.join(work, 'bulk')
  const names = []
  for (let i = 0; i < files; i++) {
    const name = path.join('secrets', `team-${i % 10}`, `service-${i}.yaml`)
    fs.mkdirSync(path.join(dir, path.dirname(name)), { recursive: true })
    const text = `service_${i}:\n    user: user-${i}\n    password: password-${i}\n    port: ${5000 + i}\n`
    fs.writeFileSync(path.join(dir, name), await lib.encrypt(text, { format: 'yaml', age: [recipient] }))
    names.push(name)
  }
  const out = (who) => path.join(dir, `out-${who}`)
  const opts = { cwd: dir, env }
  const result = alternate(
    {
      tsops: () => run(process.execPath, [cli, 'decrypt', '--output-dir', out('tsops'), ...names], opts),
      sops: () => {
        for (const name of names) {
          fs.mkdirSync(path.dirname(path.join(out('sops'), name)), { recursive: true })
          run(sops, ['decrypt', '--output', path.join(out('sops'), name), name], opts)
        }
      },
    },
    { runs, warmup: 1 },
  )
  for (const name of names) {
    if (!fs.readFileSync(path.join(out('tsops'), name)).equals(fs.readFileSync(path.join(out('sops'), name)))) throw new Error(`bulk decrypt: ${name} differs between tsops and sops`)
  }
  return { files, ...result }
}
