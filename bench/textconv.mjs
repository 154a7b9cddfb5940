// `git log -p` over 100 commits of an encrypted file through a textconv diff driver: tsops's
// (bin/tsops-textconv, what `tsops git install` configures: a Perl client that asks a resident
// agent, src/git/textconv-agent.ts) vs sops's (`sops decrypt`, the usual sops setup). git runs
// the driver once per file version shown, ~200 times here. No `cachetextconv`: git would keep
// the plaintext in refs/notes/textconv. The first tsops run starts the agent (it is timed too).
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { alternate, realSops, root, run } from './sops.mjs'

function fastImport(repo, env, commits) {
  const parts = []
  const data = (text) => {
    const b = Buffer.from(text)
    parts.push(Buffer.from(`data ${b.length}\n`), b, Buffer.from('\n'))
  }
  commits.forEach(({ file, content }, i) => {
    parts.push(Buffer.from(`commit refs/heads/main\ncommitter Bench <bench@example.com> ${1700000000 + i * 60} +0000\n`))
    data(`change ${i}`)
    if (i === 0) {
      parts.push(Buffer.from('M 100644 inline .gitattributes\n'))
      data('secrets/*.yaml diff=tsops\n')
    }
    parts.push(Buffer.from(`M 100644 inline ${file}\n`))
    data(content)
  })
  const r = spawnSync('git', ['fast-import', '--quiet'], { cwd: repo, env, input: Buffer.concat(parts) })
  if (r.status !== 0) throw new Error(`git fast-import failed: ${r.stderr}`)
}

export async function benchTextconv({ work, env, recipient, commits = 100, runs = 3 }) {
  const lib = await import(path.join(root, 'dist/lib/index.js'))
  const sops = realSops()
  const repo = path.join(work, 'textconv-repo')
  run('git', ['init', '-q', '-b', 'main', repo], { env })
  const versions = []
  for (let i = 0; i < commits; i++) {
    const text = `db:\n    host: db.internal\n    user: app\n    password: password-${i}\nport: 5432\nfeatures:\n    - a\n    - b\n`
    versions.push({ file: 'secrets/app.yaml', content: await lib.encrypt(text, { format: 'yaml', age: [recipient] }) })
  }
  fastImport(repo, env, versions)
  run('git', ['reset', '-q', '--hard'], { cwd: repo, env })
  const quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`
  const drivers = {
    tsops: quote(path.join(root, 'bin/tsops-textconv')),
    sops: `${quote(sops)} decrypt`,
  }
  const logP = (who) => run('git', ['-c', `diff.tsops.textconv=${drivers[who]}`, 'log', '-p'], { cwd: repo, env, keepStdout: true })
  // Every timed run must show the decrypted change (no separate check run: ~200 processes each).
  const checked = (who) => () => {
    const out = logP(who).stdout.toString()
    if (!out.includes(`+    password: password-${commits - 1}`)) throw new Error(`${who}: git log -p did not show the decrypted change`)
  }
  const result = alternate({ tsops: checked('tsops'), sops: checked('sops') }, { runs, warmup: 0 })
  return { commits, ...result }
}
