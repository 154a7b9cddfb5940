/**
 * Tree paths for --extract, set and unset: `["a"][0]["b"]` (spec §9.4, main.go:parseTreePath).
 */
import { TreePathError } from '../core/errors.js'

export type PathPart = string | number

export function parseTreePath(arg: string): PathPart[] {
  const parts: PathPart[] = []
  for (const piece of arg.split('[')) {
    if (piece === '') continue
    if (!piece.endsWith(']')) throw new TreePathError(`error parsing --extract path: component ${JSON.stringify(piece)} does not end with ]`)
    const inner = piece.slice(0, -1)
    if (inner.startsWith('"') || inner.startsWith("'")) {
      parts.push(inner.slice(1, -1))
      continue
    }
    if (!/^-?\d+$/.test(inner)) throw new TreePathError(`error parsing --extract path: ${JSON.stringify(inner)} is not a quoted key or an integer index`)
    parts.push(Number(inner))
  }
  return parts
}

export function formatTreePath(path: readonly PathPart[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `[${JSON.stringify(p)}]`)).join('')
}
