/**
 * Wrapping a data key for a planned set of key groups. Existing keys are wrapped again through
 * the source their metadata entry describes and keep their `created_at` (sops keeps the master
 * key object, and with it its creation date, across rotate); new keys get the current time.
 */
import { wrapDataKey, type WrappedDataKey } from '../keys/datakey.js'
import { keySourceFromEntry } from '../keys/registry.js'
import type { KeyContext, KeyEntry, KeySource } from '../keys/types.js'
import type { GroupPlan, Member } from './plan.js'

function sourceOf(member: Member): Promise<KeySource> {
  return member.kind === 'new' ? Promise.resolve(member.source) : keySourceFromEntry(member.entry)
}

/** The new entry, with the old entry's creation date when it had one. */
function keepCreatedAt(fresh: KeyEntry, member: Member): KeyEntry {
  if (member.kind !== 'existing') return fresh
  const createdAt = member.entry.fields.created_at
  if (typeof createdAt !== 'string' || fresh.fields.created_at === undefined) return fresh
  return { ...fresh, fields: { ...fresh.fields, created_at: createdAt } }
}

/**
 * Wrap `dataKey` for every member of every group: one group -> the whole key, several -> one
 * Shamir share per group (threshold 0 -> the number of groups, returned for the metadata).
 */
export async function wrapPlan(dataKey: Uint8Array, plan: GroupPlan, threshold: number, ctx: KeyContext): Promise<WrappedDataKey> {
  const sources = await Promise.all(plan.map((g) => Promise.all(g.map(sourceOf))))
  const wrapped = await wrapDataKey(dataKey, sources, threshold, ctx)
  return { ...wrapped, groups: wrapped.groups.map((g, i) => g.map((entry, j) => keepCreatedAt(entry, plan[i]![j]!))) }
}

/**
 * Single group, same data key: the file's existing entries already wrap exactly this key, so
 * they are kept byte for byte and only new keys are wrapped. A diff of the file then shows only
 * the keys that were really added or removed.
 */
export async function wrapNewMembersOnly(dataKey: Uint8Array, group: readonly Member[], threshold: number, ctx: KeyContext): Promise<WrappedDataKey> {
  const fresh = group.flatMap((m) => (m.kind === 'new' ? [m.source] : []))
  const wrapped = fresh.length === 0 ? [] : (await wrapDataKey(dataKey, [fresh], threshold, ctx)).groups[0]!
  let next = 0
  const entries = group.map((m) => (m.kind === 'existing' ? m.entry : wrapped[next++]!))
  return { groups: [entries], threshold }
}
