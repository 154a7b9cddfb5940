/**
 * The tsops block in a `.gitattributes` file: delimited by marker comments so install can
 * replace it and uninstall can remove exactly it, leaving every other line as it was.
 */
import fs from 'node:fs'
import { writeFileAtomic } from '../io/files.js'

export const BEGIN_MARKER = '# BEGIN tsops (managed by `tsops git install`; `tsops git uninstall` removes it)'
export const END_MARKER = '# END tsops'
export const ATTRIBUTES = 'diff=tsops merge=tsops'

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** The text with the tsops block (and the line break that introduced it) taken out. */
export function withoutBlock(text: string): string {
  const lines = text.split('\n')
  const begin = lines.findIndex((l) => l.startsWith('# BEGIN tsops'))
  if (begin === -1) return text
  const endRel = lines.slice(begin).indexOf(END_MARKER)
  const end = endRel === -1 ? lines.length - 1 : begin + endRel
  const after = lines.slice(end + 1)
  return [...lines.slice(0, begin), ...after].join('\n')
}

export function blockText(patterns: readonly string[]): string {
  return [BEGIN_MARKER, ...patterns.map((p) => `${p} ${ATTRIBUTES}`), END_MARKER].join('\n') + '\n'
}

/** Replace (or add) the tsops block; returns whether the file changed. */
export function writeBlock(file: string, patterns: readonly string[]): boolean {
  const before = read(file)
  const base = before === undefined ? '' : withoutBlock(before)
  const sep = base === '' || base.endsWith('\n') ? '' : '\n'
  const next = base + sep + blockText(patterns)
  if (next === before) return false
  writeFileAtomic(file, Buffer.from(next, 'utf8'), { mode: 0o644 })
  return true
}

/** Remove the tsops block; a file left empty is deleted. Returns whether anything changed. */
export function removeBlock(file: string): boolean {
  const before = read(file)
  if (before === undefined) return false
  const after = withoutBlock(before)
  if (after === before) return false
  if (after.trim() === '') fs.rmSync(file, { force: true })
  else writeFileAtomic(file, Buffer.from(after, 'utf8'))
  return true
}
