import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { findConfigFile, lookupConfigFile } from '../../src/config/index.js'

let root: string
beforeEach(() => {
  root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'tsops-find-')))
})
afterEach(() => rmSync(root, { recursive: true, force: true }))

function touch(p: string): void {
  mkdirSync(path.dirname(p), { recursive: true })
  writeFileSync(p, 'creation_rules: []\n')
}

describe('findConfigFile', () => {
  it('finds .sops.yaml in the start directory', () => {
    touch(path.join(root, '.sops.yaml'))
    expect(findConfigFile(root)).toBe(path.join(root, '.sops.yaml'))
  })

  it('walks upward from nested directories and takes the nearest', () => {
    touch(path.join(root, '.sops.yaml'))
    touch(path.join(root, 'a', '.sops.yaml'))
    const deep = path.join(root, 'a', 'b', 'c')
    mkdirSync(deep, { recursive: true })
    expect(findConfigFile(deep)).toBe(path.join(root, 'a', '.sops.yaml'))
    expect(findConfigFile(path.join(root, 'x'))).toBe(path.join(root, '.sops.yaml'))
  })

  it('returns undefined without a config (and without warnings)', () => {
    const warnings: string[] = []
    const deep = path.join(root, 'a', 'b')
    mkdirSync(deep, { recursive: true })
    // The temp dir's ancestors might hold a stray .sops.yaml; only check when they do not.
    if (lookupConfigFile(path.dirname(root)).path === undefined) {
      expect(findConfigFile(deep, (w) => warnings.push(w))).toBeUndefined()
      expect(warnings).toEqual([])
    }
  })

  it('ignores .sops.yml with sops’s warning and keeps searching', () => {
    touch(path.join(root, '.sops.yaml'))
    touch(path.join(root, 'a', '.sops.yml'))
    const warnings: string[] = []
    expect(findConfigFile(path.join(root, 'a'), (w) => warnings.push(w))).toBe(path.join(root, '.sops.yaml'))
    expect(warnings).toEqual([
      `ignoring "${path.join(root, 'a', '.sops.yml')}" when searching for config file; the config file must be called ".sops.yaml"; using "${path.join(root, '.sops.yaml')}" instead`,
    ])
  })

  it('warns about a .sops.yml when no .sops.yaml exists at all', () => {
    touch(path.join(root, '.sops.yml'))
    const found = lookupConfigFile(root)
    if (found.path === undefined) {
      expect(found.warning).toBe(
        `ignoring "${path.join(root, '.sops.yml')}" when searching for config file; the config file must be called ".sops.yaml"`,
      )
    }
  })

  it('keeps a relative start relative, like sops', () => {
    touch(path.join(root, '.sops.yaml'))
    const deep = path.join(root, 'a', 'b')
    mkdirSync(deep, { recursive: true })
    const rel = path.relative(process.cwd(), deep)
    const found = findConfigFile(rel)
    expect(found && path.resolve(found)).toBe(path.join(root, '.sops.yaml'))
  })
})
