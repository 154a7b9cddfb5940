import { wrapDataKey } from '../../src/keys/datakey.js'
import type { KeyContext, KeyEntry, KeySource } from '../../src/keys/types.js'

/** A key's metadata entry as it is written to a file: wrapped, then stamped with `created_at` (datakey.ts). */
export async function writtenEntry(source: KeySource, part: Uint8Array, ctx: KeyContext): Promise<KeyEntry> {
  return (await wrapDataKey(part, [[source]], 0, ctx)).groups[0]![0]!
}
