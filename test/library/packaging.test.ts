/**
 * What the library build (`npm run build`'s `tsc -p tsconfig.lib.json`, published as dist/lib)
 * contains: src/index.ts and what it imports, and nothing of the CLI, the git drivers or the
 * editor; every relative import in it names a file that is there (never a `.ts` file). The
 * build is made here into a temporary directory, so a stale dist/ cannot hide a problem.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { REPO_ROOT } from '../helpers/paths.js'

let out: string
let files: string[]

beforeAll(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'tsops-lib-'))
  const tsc = path.join(REPO_ROOT, 'node_modules/.bin/tsc')
  const r = spawnSync(tsc, ['-p', 'tsconfig.lib.json', '--outDir', out], { cwd: REPO_ROOT, encoding: 'utf8' })
  // Type errors elsewhere (other branches mid-merge) must not hide a packaging problem: what tsc emitted counts.
  if (!fs.existsSync(path.join(out, 'index.js'))) throw new Error(`tsc emitted no library:\n${r.stdout}${r.stderr}`)
  files = (fs.readdirSync(out, { recursive: true }) as string[]).map((f) => f.split(path.sep).join('/')).filter((f) => fs.statSync(path.join(out, f)).isFile())
}, 120_000)
afterAll(() => {
  if (out) fs.rmSync(out, { recursive: true, force: true })
})

/** Relative module specifiers of a .js or .d.ts file: static, dynamic and re-exports. */
function relativeImports(text: string): string[] {
  const found: string[] = []
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])(\.{1,2}\/[^'"]+)\1/g)) found.push(m[2]!)
  return found
}

describe('the library build (dist/lib)', () => {
  it('ships no CLI, git-driver or editor code', () => {
    const topLevel = new Set(files.map((f) => f.split('/')[0]))
    for (const dir of ['cli', 'git', 'edit', 'check', 'config', 'keygroups', 'tree', 'io']) expect([dir, topLevel.has(dir)]).toEqual([dir, false])
    expect(files).toContain('index.js')
    expect(files).toContain('index.d.ts')
  })

  it('the library API exports nothing from the CLI, git or editor folders', () => {
    const index = fs.readFileSync(path.join(REPO_ROOT, 'src/index.ts'), 'utf8')
    expect(relativeImports(index).filter((s) => /^\.\/(cli|git|edit)\//.test(s))).toEqual([])
  })

  it('every relative import names a file that is there, and never a .ts file', () => {
    const problems: string[] = []
    for (const file of files.filter((f) => f.endsWith('.js') || f.endsWith('.d.ts'))) {
      const text = fs.readFileSync(path.join(out, file), 'utf8')
      for (const spec of relativeImports(text)) {
        const target = path.join(out, path.dirname(file), spec)
        if (spec.endsWith('.ts')) problems.push(`${file} imports ${spec} (a .ts file)`)
        else if (!fs.existsSync(target)) problems.push(`${file} imports ${spec}, which is missing`)
      }
    }
    expect(problems).toEqual([])
  })

  it('npm run build makes dist/lib from tsconfig.lib.json after emptying it, and publishes no internal build', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; files: string[] }
    expect(pkg.scripts.build).toMatch(/clean-dist\.mjs.*tsc -p tsconfig\.lib\.json/)
    const internal = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string } }
    expect(internal.compilerOptions.outDir).not.toBe('dist/lib')
    expect(pkg.files.filter((f) => f.startsWith('dist'))).toEqual(['dist/lib', 'dist/cli'])
  })
})

describe('dependencies and lint', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>
    dependencies: Record<string, string>
    devDependencies: Record<string, string>
  }

  it('shamir-secret-sharing (the tests’ reference implementation) is a pinned dev dependency, not a runtime one', () => {
    expect(pkg.dependencies['shamir-secret-sharing']).toBeUndefined()
    expect(pkg.devDependencies['shamir-secret-sharing']).toMatch(/^\d+\.\d+\.\d+$/)
    const lock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
    expect(lock.packages['node_modules/shamir-secret-sharing']?.dev).toBe(true)
  })

  it('npm run lint is clean on the tree, and .ci/run runs it after the build', () => {
    expect(pkg.devDependencies['@biomejs/biome']).toMatch(/^\d+\.\d+\.\d+$/)
    const r = spawnSync('npm', ['run', '--silent', 'lint'], { cwd: REPO_ROOT, encoding: 'utf8' })
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0)
    const steps = fs.readFileSync(path.join(REPO_ROOT, '.ci/run'), 'utf8').split('\n').filter((l) => /^npm /.test(l))
    expect(steps.indexOf('npm run lint')).toBeGreaterThan(steps.indexOf('npm run build'))
    expect(steps.indexOf('npm run build')).toBeGreaterThanOrEqual(0)
  }, 60_000)
})
