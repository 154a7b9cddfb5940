/**
 * Three-way merge of a file's protection — its key groups, Shamir threshold and encryption
 * rules — for the merge driver. An access change made on either branch survives the merge:
 *
 *  - a master key removed on one side stays removed, a key added on one side stays added
 *    (groups are matched by position; keys inside a group by identity, as updatekeys does);
 *  - a change to the number of groups, the threshold or the rules made on one side is taken;
 *    made differently on both sides, it is a conflict (no silent choice of access);
 *  - without a base (both sides added the file) only keys both sides have are kept: a key only
 *    one side has could read that side, so keeping it would be a choice the user did not make.
 *
 * `restricts` says whether the merged protection shuts out a key that could read one of the
 * inputs; the driver then encrypts the result under a fresh data key (as rotate does).
 */
import type { Metadata } from '../core/metadata.js'
import type { EncryptionRules } from '../core/rules.js'
import { effectiveThreshold, entryRef, sameKey, type KeyRef } from '../keygroups/index.js'
import type { KeyEntry } from '../keys/types.js'

/** The part of the metadata that decides who can read a file and what is encrypted. */
export interface Protection {
  keyGroups: KeyEntry[][]
  shamirThreshold: number
  rules: EncryptionRules
}

export type ProtectionMerge =
  | { kind: 'merged'; protection: Protection }
  /** Contradictory changes: what was changed differently on both sides (`sops.…` names). */
  | { kind: 'conflict'; what: string[] }

export function protectionOf(metadata: Metadata): Protection {
  return { keyGroups: metadata.keyGroups, shamirThreshold: metadata.shamirThreshold, rules: metadata.rules }
}

const refs = (group: readonly KeyEntry[]): KeyRef[] => group.map(entryRef)
const holds = (group: readonly KeyEntry[], ref: KeyRef): boolean => group.some((e) => sameKey(entryRef(e), ref))

/** Same keys in the same groups (order inside a group does not matter). */
export function sameGroups(a: readonly (readonly KeyEntry[])[], b: readonly (readonly KeyEntry[])[]): boolean {
  if (a.length !== b.length) return false
  return a.every((g, i) => {
    const other = b[i]!
    return g.length === other.length && refs(g).every((r) => holds(other, r)) && refs(other).every((r) => holds(g, r))
  })
}

export function sameRules(a: EncryptionRules, b: EncryptionRules): boolean {
  const canon = (r: EncryptionRules) => JSON.stringify(Object.entries(r).filter(([, v]) => v !== undefined && v !== false).sort())
  return canon(a) === canon(b)
}

/** Same keys in the same groups, same threshold and rules. */
export function sameProtection(a: Protection, b: Protection): boolean {
  return sameGroups(a.keyGroups, b.keyGroups) && a.shamirThreshold === b.shamirThreshold && sameRules(a.rules, b.rules)
}

/** Three-way choice of a whole value: a change on one side wins; different changes conflict. */
function pick3<T>(base: T | undefined, ours: T, theirs: T, same: (a: T, b: T) => boolean): { value: T } | undefined {
  if (same(ours, theirs)) return { value: ours }
  if (base !== undefined && same(base, ours)) return { value: theirs }
  if (base !== undefined && same(base, theirs)) return { value: ours }
  return undefined
}

/**
 * One group's keys: in ours' order, then the keys only theirs has. A key in the base stays only
 * if both sides kept it; a key not in the base is kept if a side added it (with a base) or if
 * both sides have it (without one). The entry comes from ours when it has one.
 */
function mergeGroup(base: readonly KeyEntry[] | undefined, ours: readonly KeyEntry[], theirs: readonly KeyEntry[]): KeyEntry[] {
  const keep = (ref: KeyRef): boolean => {
    const inOurs = holds(ours, ref)
    const inTheirs = holds(theirs, ref)
    if (base === undefined) return inOurs && inTheirs
    return holds(base, ref) ? inOurs && inTheirs : inOurs || inTheirs
  }
  const merged = ours.filter((e) => keep(entryRef(e)))
  for (const e of theirs) if (!holds(ours, entryRef(e)) && keep(entryRef(e))) merged.push(e)
  return merged
}

function mergeGroups(base: KeyEntry[][] | undefined, ours: KeyEntry[][], theirs: KeyEntry[][]): KeyEntry[][] | undefined {
  if (ours.length === theirs.length && (base === undefined || base.length === ours.length)) {
    return ours.map((g, i) => mergeGroup(base?.[i], g, theirs[i]!))
  }
  // The number of groups changed: on one side only, that side's groups are the result.
  return pick3(base, ours, theirs, sameGroups)?.value
}

export function mergeProtection(base: Protection | undefined, ours: Protection, theirs: Protection): ProtectionMerge {
  const what: string[] = []
  const groups = mergeGroups(base?.keyGroups, ours.keyGroups, theirs.keyGroups)
  if (groups === undefined) what.push('sops key groups (the number of groups)')
  else {
    const empty = groups.findIndex((g) => g.length === 0)
    if (empty !== -1) what.push(`sops key group ${empty + 1} (the merge would leave it without a key)`)
  }
  const threshold = pick3(base?.shamirThreshold, ours.shamirThreshold, theirs.shamirThreshold, (a, b) => a === b)
  if (threshold === undefined) what.push('sops.shamir_threshold')
  const rules = pick3(base?.rules, ours.rules, theirs.rules, sameRules)
  if (rules === undefined) what.push('sops encryption rules (encrypted_regex, unencrypted_suffix, …)')
  if (groups === undefined || threshold === undefined || rules === undefined || what.length > 0) return { kind: 'conflict', what }
  if (groups.length > 1 && threshold.value > groups.length) return { kind: 'conflict', what: ['sops.shamir_threshold (more than the number of key groups)'] }
  return { kind: 'merged', protection: { keyGroups: groups, shamirThreshold: threshold.value, rules: rules.value } }
}

/**
 * Does `merged` shut out a reader of `side`: a master key of `side` that is in no merged group,
 * or more groups needed than before? Then the data key `side` was encrypted with must not be
 * the merged file's data key.
 */
export function restricts(merged: Protection, side: Protection): boolean {
  const all = merged.keyGroups.flat()
  if (side.keyGroups.some((g) => g.some((e) => !holds(all, entryRef(e))))) return true
  const need = (p: Protection) => effectiveThreshold(p.shamirThreshold, p.keyGroups.length)
  return merged.keyGroups.length > 1 && need(merged) > Math.max(1, need(side))
}
