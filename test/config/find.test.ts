import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { findConfigFile, lookupConfigFile } from '../../src/config/index.js'
import { tempWorkspace } from '../helpers/workspace.js'

const workspace = tempWorkspace('tsops-find-', { perTest: true, realpath: true })

function touch(p: string): void {
  mkdirSync(path.dirname(p), { recursive: true })
  writeFileSync(p, 'creation_rules: []\n')
}

describe('findConfigFile', () => {
  it('finds .sops.yaml in the start directory', () => {
    touch(path.join(workspace.dir, '.sops.yaml'))
    expect(findConfigFile(workspace.dir)).toBe(path.join(workspace.dir, '.sops.yaml'))
  })

  it('walks upward from nested directories and takes the nearest', () => {
    touch(path.join(workspace.dir, '.sops.yaml'))
    touch(path.join(workspace.dir, 'a', '.sops.yaml'))
    const deep = path.join(workspace.dir, 'a', 'b', 'c')
    mkdirSync(deep, { recursive: true })
    expect(findConfigFile(deep)).toBe(path.join(workspace.dir, 'a', '.sops.yaml'))
    expect(findConfigFile(path.join(workspace.dir, 'x'))).toBe(path.join(workspace.dir, '.sops.yaml'))
  })

  it('returns undefined without a config (and without warnings)', () => {
    const warnings: string[] = []
    const deep = path.join(workspace.dir, 'a', 'b')
    mkdirSync(deep, { recursive: true })
    // The temp dir's ancestors might hold a stray .sops.yaml; only check when they do not.
    if (lookupConfigFile(path.dirname(workspace.dir)).path === undefined) {
      expect(findConfigFile(deep, (w) => warnings.push(w))).toBeUndefined()
      expect(warnings).toEqual([])
    }
  })

  it('ignores .sops.yml with sops’s warning and keeps searching', () => {
    touch(path.join(workspace.dir, '.sops.yaml'))
    touch(path.join(workspace.dir, 'a', '.sops.yml'))
    const warnings: string[] = []
    expect(findConfigFile(path.join(workspace.dir, 'a'), (w) => warnings.push(w))).toBe(path.join(workspace.dir, '.sops.yaml'))
    expect(warnings).toEqual([
      `ignoring "${path.join(workspace.dir, 'a', '.sops.yml')}" when searching for config file; the config file must be called ".sops.yaml"; using "${path.join(workspace.dir, '.sops.yaml')}" instead`,
    ])
  })

  it('warns about a .sops.yml when no .sops.yaml exists at all', () => {
    touch(path.join(workspace.dir, '.sops.yml'))
    const found = lookupConfigFile(workspace.dir)
    if (found.path === undefined) {
      expect(found.warning).toBe(
        `ignoring "${path.join(workspace.dir, '.sops.yml')}" when searching for config file; the config file must be called ".sops.yaml"`,
      )
    }
  })

  it('keeps a relative start relative, like sops', () => {
    touch(path.join(workspace.dir, '.sops.yaml'))
    const deep = path.join(workspace.dir, 'a', 'b')
    mkdirSync(deep, { recursive: true })
    const rel = path.relative(process.cwd(), deep)
    const found = findConfigFile(rel)
    expect(found && path.resolve(found)).toBe(path.join(workspace.dir, '.sops.yaml'))
  })
})
