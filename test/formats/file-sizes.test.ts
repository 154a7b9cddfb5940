/**
 * Files along their seams (issue #17, point 7): no source file in src/formats over 500 lines but
 * the port of yaml.v3's emitter, which follows emitterc.go function by function. (keys/age.ts is
 * being split on its own branch; this test covers the formats.)
 */
import { describe, expect, it } from 'vitest'
import fs from 'node:fs'
import path from 'node:path'
import { REPO_ROOT } from '../helpers/paths.js'

const MAX_LINES = 500
const PORTED_WHOLE = new Set(['yaml-emitter.ts'])

describe('src/formats file sizes', () => {
  it(`every file but the ported emitter has at most ${MAX_LINES} lines`, () => {
    const dir = path.join(REPO_ROOT, 'src/formats')
    const over = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && !PORTED_WHOLE.has(f))
      .map((f) => ({ f, lines: fs.readFileSync(path.join(dir, f), 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > MAX_LINES)
    expect(over).toEqual([])
  })
})
