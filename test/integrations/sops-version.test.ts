import { describe, expect, it } from 'vitest'
import path from 'node:path'
import { runCli } from '../helpers/cli.js'
import { REPO_ROOT } from '../helpers/paths.js'

describe('the sops-named entry', () => {
  it('prints sops first in --version, so tools parsing `sops --version` keep working', async () => {
    const r = await runCli(['--version'], { command: [process.execPath, path.join(REPO_ROOT, 'bin/sops')] })
    expect(r.code).toBe(0)
    expect(r.stdout.toString()).toMatch(/^sops 3\.13\.2 \(tsops \S+\)\n$/)
  })
})
