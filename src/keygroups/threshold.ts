/**
 * The Shamir threshold a file ends up with when its key groups are replaced (updatekeys) or
 * edited (groups add/delete). Spec §7: with >=2 groups a threshold of 0 means "all groups" and
 * is written out as such; with 1 group the value is meaningless but kept if set.
 */

/** What wrapDataKey will write for `groups` groups and a requested threshold. */
export function effectiveThreshold(requested: number, groups: number): number {
  return groups > 1 && requested === 0 ? groups : requested
}

export interface ThresholdInputs {
  /** In the file now (0: none). */
  current: number
  /** --shamir-secret-sharing-threshold (undefined or 0: not given). */
  flag: number | undefined
  /** The creation rule's shamir_threshold (0: none). */
  rule: number
  /** Number of key groups after the update. */
  groups: number
}

/**
 * sops's updatekeys: the flag, else the file's threshold, capped at the number of groups so the
 * file stays decryptable. tsops also falls back to the rule's threshold when the file has none
 * (sops leaves that as a TODO, and a 1-group file moving to a 2-of-3 rule would otherwise become
 * 3-of-3). The rule only counts with several groups: a threshold means nothing for one group.
 */
export function updatedThreshold({ current, flag, rule, groups }: ThresholdInputs): number {
  // A 1-group file may carry a threshold of 1, which no split into several groups accepts.
  const fromFile = groups > 1 && current < 2 ? 0 : current
  const requested = flag || fromFile || (groups > 1 ? rule : 0)
  return effectiveThreshold(Math.min(requested, groups), groups)
}
