/**
 * What updatekeys will change, shown before it asks (sops's common.DiffKeyGroups,
 * PrettyPrintDiffs and PrettyPrintShamirDiff, without colour). Groups are compared by position;
 * keys inside a group by identity, so reordering keys is not a change.
 */
import { sameKey, type KeyRef } from './plan.js'

export interface GroupDiff {
  common: KeyRef[]
  added: KeyRef[]
  removed: KeyRef[]
}

export function diffKeyGroups(ours: readonly (readonly KeyRef[])[], theirs: readonly (readonly KeyRef[])[]): GroupDiff[] {
  const diffs: GroupDiff[] = []
  for (let i = 0; i < Math.max(ours.length, theirs.length); i++) {
    const ourGroup = ours[i] ?? []
    const theirGroup = theirs[i] ?? []
    const inOurs = (k: KeyRef) => ourGroup.some((o) => sameKey(o, k))
    const inTheirs = (k: KeyRef) => theirGroup.some((t) => sameKey(t, k))
    diffs.push({
      common: theirGroup.filter(inOurs),
      added: theirGroup.filter((k) => !inOurs(k)),
      removed: ourGroup.filter((k) => !inTheirs(k)),
    })
  }
  return diffs
}

export function keysWillChange(diffs: readonly GroupDiff[]): boolean {
  return diffs.some((d) => d.added.length > 0 || d.removed.length > 0)
}

/** sops's layout: `Group N` (1-based), common keys indented, `+++ added`, `--- removed`. */
export function formatGroupDiffs(diffs: readonly GroupDiff[]): string {
  return diffs
    .map((d, i) =>
      [`Group ${i + 1}`, ...d.common.map((k) => `    ${k.id}`), ...d.added.map((k) => `+++ ${k.id}`), ...d.removed.map((k) => `--- ${k.id}`)]
        .map((line) => `${line}\n`)
        .join(''),
    )
    .join('')
}

/** The threshold line(s): unchanged -> `shamir_threshold: N`; changed -> `+++ new` / `--- old`. */
export function formatShamirDiff(oldValue: number, newValue: number): string {
  if (oldValue > 0 && oldValue === newValue) return `shamir_threshold: ${newValue}\n`
  let out = ''
  if (newValue > 0 && newValue !== oldValue) out += `+++ shamir_threshold: ${newValue}\n`
  if (oldValue > 0 && newValue !== oldValue) out += `--- shamir_threshold: ${oldValue}\n`
  return out
}
