/**
 * Editing a file's key groups before the data key (or its Shamir shares) is wrapped again:
 * rotate's --add-… / --rm-…, `groups add/delete`, and updatekeys all build a plan here.
 *
 * A plan member is either an entry already in the file (re-wrapped with a new `enc`, keeping its
 * `created_at` as sops does across rotate) or a key that is new to the file.
 */
import { GenericError } from '../core/errors.js'
import { keyIdOf, sameKey as registrySameKey } from '../keys/registry.js'
import type { KeyEntry, KeySource, KeyType } from '../keys/types.js'

/** What identifies a master key: sops compares keys by MasterKey.ToString (here, type + id). */
export interface KeyRef {
  type: KeyType
  id: string
}

export type Member = { kind: 'existing'; entry: KeyEntry } | { kind: 'new'; source: KeySource }

/** One inner list per key group, in file order. */
export type GroupPlan = Member[][]

/** The same master key? Each source says when two of its ids are equal (PGP fingerprints in any case). */
export const sameKey: (a: KeyRef, b: KeyRef) => boolean = registrySameKey

export function entryRef(entry: KeyEntry): KeyRef {
  return { type: entry.type, id: keyIdOf(entry) }
}

export function memberRef(member: Member): KeyRef {
  return member.kind === 'existing' ? entryRef(member.entry) : { type: member.source.type, id: member.source.id }
}

export function planFromGroups(groups: readonly (readonly KeyEntry[])[]): GroupPlan {
  return groups.map((g) => g.map((entry): Member => ({ kind: 'existing', entry })))
}

export function refsOf(plan: GroupPlan): KeyRef[][] {
  return plan.map((g) => g.map(memberRef))
}

/**
 * Append keys to one group (rotate adds to group 0, like sops). A key already in that group is
 * not added twice: a second entry for the same key would only be a second copy of its `enc`.
 */
export function addKeys(plan: GroupPlan, groupIndex: number, sources: readonly KeySource[]): { plan: GroupPlan; duplicates: KeyRef[] } {
  const group = plan[groupIndex]
  if (group === undefined) throw new GenericError(`key group ${groupIndex} does not exist`, { code: 'NO_SUCH_KEY_GROUP' })
  const duplicates: KeyRef[] = []
  const added = [...group]
  for (const source of sources) {
    const ref = { type: source.type, id: source.id }
    if (added.some((m) => sameKey(memberRef(m), ref))) duplicates.push(ref)
    else added.push({ kind: 'new', source })
  }
  return { plan: plan.map((g, i) => (i === groupIndex ? added : g)), duplicates }
}

/**
 * Remove keys from every group (sops's --rm-* semantics). Returns the refs that matched nothing,
 * so the caller can say so instead of silently doing nothing.
 */
export function removeKeys(plan: GroupPlan, refs: readonly KeyRef[]): { plan: GroupPlan; notFound: KeyRef[] } {
  const matched = new Set<number>()
  const next = plan.map((group) =>
    group.filter((member) => {
      const i = refs.findIndex((r) => sameKey(r, memberRef(member)))
      if (i === -1) return true
      matched.add(i)
      return false
    }),
  )
  return { plan: next, notFound: refs.filter((_, i) => !matched.has(i)) }
}

/**
 * A group left without keys would lose its data key part for good; sops fails later with
 * "empty key group provided". Say which group and what to do instead.
 */
export function assertNoEmptyGroup(plan: GroupPlan): void {
  const empty = plan.findIndex((g) => g.length === 0)
  if (plan.length === 0) throw new GenericError('no key groups left: the file would have no master key', { code: 'NO_MASTER_KEY_LEFT' })
  if (empty === -1) return
  throw new GenericError(`removing these keys would leave key group ${empty} without any key`, { code: 'NO_MASTER_KEY_LEFT',
    hint:
      plan.length > 1
        ? `Add another key to that group first, or remove the whole group with 'tsops groups delete --file FILE ${empty}'.`
        : 'Add another key in the same command (--add-age, --add-pgp, …) so the file keeps at least one master key.',
  })
}

export function describeKey(ref: KeyRef): string {
  return `${ref.type} key ${ref.id}`
}
