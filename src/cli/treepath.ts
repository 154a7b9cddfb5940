/**
 * Tree paths for --extract, set and unset: `["a"][0]["b"]` (spec §9.4, main.go:parseTreePath).
 */
import { TreePathError } from '../core/errors.js'

export type PathPart = string | number

export function parseTreePath(arg: string): PathPart[] {
  const parts: PathPart[] = []
  for (const piece of arg.split('[')) {
    if (piece === '') continue
    // The texts are sops's (main.go parseTreePath, strconv.Atoi).
    if (!piece.endsWith(']')) throw new TreePathError(`error parsing --extract path: component ${piece} doesn't end with ]`)
    const inner = piece.slice(0, -1)
    if (inner.startsWith('"') || inner.startsWith("'")) {
      parts.push(inner.slice(1, -1))
      continue
    }
    const syntax = /^[+-]?\d+$/.test(inner) ? (Number.isSafeInteger(Number(inner)) ? undefined : 'value out of range') : 'invalid syntax'
    if (syntax) throw new TreePathError(`error parsing --extract path: strconv.Atoi: parsing ${JSON.stringify(inner)}: ${syntax}`)
    parts.push(Number(inner))
  }
  return parts
}

export function formatTreePath(path: readonly PathPart[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `[${JSON.stringify(p)}]`)).join('')
}
