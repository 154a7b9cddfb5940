/**
 * The three-way merge of two encrypted versions of a file against their base, shared by the
 * merge driver and `tsops git resolve`:
 *
 *  1. the protection (key groups, threshold, rules) is merged three-way (protection.ts);
 *  2. each side's data key is recovered (one unwrap per distinct key: a side whose MAC opens
 *     with a key already recovered reuses it) and the values are merged key by key (merge3.ts);
 *  3. the data key of the result is merged three-way too — a side that rotated keeps its new
 *     key — unless the merged protection shuts out a key that could read the base or a side:
 *     then the result gets a fresh data key, so a removed key cannot read the merged file;
 *  4. the data key is wrapped for the merged key groups, reusing every `enc` that already
 *     wraps it; values nobody changed keep their ciphertext when the data key is kept.
 */
import { randomBytes } from 'node:crypto'
import { DATA_KEY_SIZE, IvStash } from '../core/cipher.js'
import type { TreeMap } from '../core/tree.js'
import type { EmitOptions, Document } from '../formats/format.js'
import { entryRef, planFromGroups, sameKey, wrapNewMembersOnly, wrapPlan, type Member } from '../keygroups/index.js'
import { keySourceFromEntry } from '../keys/registry.js'
import type { KeyContext, KeyEntry } from '../keys/types.js'
import { sealDocument } from '../pipeline/encrypt.js'
import { dataKeyFor, openSealed, parseSealed, type DriverFormat, type Sealed } from './decrypt.js'
import { zeroDataKeys } from '../pipeline/open.js'
import { mergeTrees, sameValue } from './merge3.js'
import { mergeProtection, protectionOf, restricts, sameGroups, sameProtection, type Protection } from './protection.js'

export interface ThreeWayInputs {
  /** Undefined or empty: no common ancestor (both sides added the file). */
  base?: Uint8Array
  ours: Uint8Array
  theirs: Uint8Array
}

export interface ThreeWaySettings {
  format: DriverFormat
  ctx: KeyContext
  decryptionOrder?: readonly string[]
  emitOptions: EmitOptions
  now?: Date
}

export type ThreeWayOutcome =
  /** A side (or a non-empty base) is not a sops file. */
  | { kind: 'not-sops' }
  /** Key groups, threshold or rules changed differently on both sides. */
  | { kind: 'protection-conflict'; what: string[] }
  | { kind: 'merged'; result: MergedFile }

export interface MergedFile {
  /** Dotted key paths changed differently on both sides, in document order. */
  conflicts: string[]
  /** The merged trees, conflicts resolved with ours' and with theirs' values. */
  ours: TreeMap[]
  theirs: TreeMap[]
  /** ours' or theirs' bytes, when the clean result is exactly that file. */
  unchanged?: Uint8Array
  /** The merged file got a new data key because the merge removed a reader. */
  rotated: boolean
  origin: Document['origin']
  /** Encrypt a tree (ours, theirs or the user's resolution) with the merged protection. */
  seal(doc: Document): Uint8Array
  /** Zero the data keys. */
  dispose(): void
}

interface Parsed {
  base: Sealed | undefined
  ours: Sealed
  theirs: Sealed
}

function parseInputs(inputs: ThreeWayInputs, f: DriverFormat): Parsed | undefined {
  const hasBase = inputs.base !== undefined && inputs.base.length > 0
  const ours = parseSealed(inputs.ours, f)
  const theirs = parseSealed(inputs.theirs, f)
  const base = hasBase ? parseSealed(inputs.base!, f) : undefined
  if (!ours || !theirs || (hasBase && !base)) return undefined
  return { base, ours, theirs }
}

function sameBranches(a: readonly TreeMap[], b: readonly TreeMap[]): boolean {
  return a.length === b.length && a.every((x, i) => sameValue(x, b[i]))
}

interface SideKeys {
  base: Uint8Array | undefined
  ours: Uint8Array
  theirs: Uint8Array
}

/** Recover the data keys; the base only when it is readable (a key added later may not read it). */
async function recoverKeys(parsed: Parsed, settings: ThreeWaySettings, held: Uint8Array[]): Promise<SideKeys> {
  const remember = (k: Uint8Array) => {
    if (!held.includes(k)) held.push(k)
    return k
  }
  const ours = remember(await dataKeyFor(parsed.ours, held, settings.ctx, settings.decryptionOrder))
  const theirs = remember(await dataKeyFor(parsed.theirs, held, settings.ctx, settings.decryptionOrder))
  let base: Uint8Array | undefined
  if (parsed.base) {
    try {
      base = remember(await dataKeyFor(parsed.base, held, settings.ctx, settings.decryptionOrder))
    } catch {
      base = undefined // values then merge as if there were no base: every difference is a conflict
    }
  }
  return { base, ours, theirs }
}

/** The data key a side rotated to wins over the base's; both rotated: ours'. */
function mergedDataKey(keys: SideKeys): Uint8Array {
  if (keys.theirs === keys.ours) return keys.ours
  return keys.base === keys.ours ? keys.theirs : keys.ours
}

interface Sides {
  protection: Protection
  key: Uint8Array | undefined
}

/**
 * The merged key groups wrapping `dataKey`: a side's entries as they are when that side already
 * has exactly these groups under this key; otherwise existing `enc`s of this key are kept and
 * the rest wrapped (one group), or every group is wrapped again (Shamir shares are per group).
 */
async function wrapFor(dataKey: Uint8Array, fresh: boolean, merged: Protection, sides: readonly Sides[], ctx: KeyContext): Promise<{ groups: KeyEntry[][]; threshold: number }> {
  if (fresh) return wrapPlan(dataKey, planFromGroups(merged.keyGroups), merged.shamirThreshold, ctx)
  const holders = sides.filter((s) => s.key === dataKey)
  const exact = holders.find((s) => sameGroups(s.protection.keyGroups, merged.keyGroups) && s.protection.shamirThreshold === merged.shamirThreshold)
  if (exact) return { groups: exact.protection.keyGroups, threshold: exact.protection.shamirThreshold }
  if (merged.keyGroups.length > 1) return wrapPlan(dataKey, planFromGroups(merged.keyGroups), merged.shamirThreshold, ctx)
  const members: Member[] = await Promise.all(
    merged.keyGroups[0]!.map(async (entry): Promise<Member> => {
      const ref = entryRef(entry)
      const existing = holders.flatMap((s) => s.protection.keyGroups.length === 1 ? s.protection.keyGroups[0]! : []).find((e) => sameKey(entryRef(e), ref))
      return existing ? { kind: 'existing', entry: existing } : { kind: 'new', source: await keySourceFromEntry(entry) }
    }),
  )
  return wrapNewMembersOnly(dataKey, members, merged.shamirThreshold, ctx)
}

export async function threeWayMerge(inputs: ThreeWayInputs, settings: ThreeWaySettings): Promise<ThreeWayOutcome> {
  const f = settings.format
  const parsed = parseInputs(inputs, f)
  if (!parsed) return { kind: 'not-sops' }
  const p = { base: parsed.base && protectionOf(parsed.base.metadata), ours: protectionOf(parsed.ours.metadata), theirs: protectionOf(parsed.theirs.metadata) }
  const protection = mergeProtection(p.base, p.ours, p.theirs)
  if (protection.kind === 'conflict') return { kind: 'protection-conflict', what: protection.what }
  const merged = protection.protection

  const held: Uint8Array[] = []
  let fresh: Uint8Array | undefined
  const dispose = () => zeroDataKeys(...held, fresh)
  try {
    const keys = await recoverKeys(parsed, settings, held)
    const rotated = [p.base, p.ours, p.theirs].some((side) => side !== undefined && restricts(merged, side))
    fresh = rotated ? randomBytes(DATA_KEY_SIZE) : undefined
    const dataKey = fresh ?? mergedDataKey(keys)

    // Only ciphertexts made with the result's data key can be kept; ours is opened last so its IVs win.
    const stash = new IvStash()
    // The merge keeps its own keys (`held`): each side's handle, with its copy, is closed at once.
    const openSide = async (side: Sealed, key: Uint8Array) => (await openSealed(side, key, key === dataKey ? stash : new IvStash(), f)).close()
    if (parsed.base && keys.base) await openSide(parsed.base, keys.base)
    await openSide(parsed.theirs, keys.theirs)
    await openSide(parsed.ours, keys.ours)

    const trees = mergeTrees(keys.base ? parsed.base?.doc.branches : undefined, parsed.ours.doc.branches, parsed.theirs.doc.branches)
    const unchanged = trees.conflicts.length > 0 || fresh ? undefined : unchangedSide(trees.ours, merged, dataKey, keys, inputs, parsed)
    const wrapped = unchanged
      ? { groups: merged.keyGroups, threshold: merged.shamirThreshold }
      : await wrapFor(dataKey, fresh !== undefined, merged, [
          { protection: p.ours, key: keys.ours },
          { protection: p.theirs, key: keys.theirs },
          ...(p.base ? [{ protection: p.base, key: keys.base }] : []),
        ], settings.ctx)
    const now = settings.now ?? new Date()
    const seal = (doc: Document): Uint8Array => {
      sealDocument(f.format, doc, dataKey, { keyGroups: wrapped.groups, shamirThreshold: wrapped.threshold, rules: merged.rules, stash, now })
      return f.format.emit(doc, settings.emitOptions)
    }
    return {
      kind: 'merged',
      result: { conflicts: trees.conflicts, ours: trees.ours, theirs: trees.theirs, unchanged, rotated, origin: parsed.ours.doc.origin, seal, dispose },
    }
  } catch (err) {
    dispose()
    throw err
  }
}

/** ours' bytes (or theirs') when the merge result is exactly that file: same values, protection and key. */
function unchangedSide(result: TreeMap[], merged: Protection, dataKey: Uint8Array, keys: SideKeys, inputs: ThreeWayInputs, parsed: Parsed): Uint8Array | undefined {
  const same = (side: Sealed, key: Uint8Array) => key === dataKey && sameProtection(protectionOf(side.metadata), merged) && sameBranches(result, side.doc.branches)
  if (same(parsed.ours, keys.ours)) return inputs.ours
  if (same(parsed.theirs, keys.theirs)) return inputs.theirs
  return undefined
}
