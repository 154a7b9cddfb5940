/** Key-group editing shared by rotate, updatekeys and groups: plans, wrapping, diffs, thresholds. */
export {
  addKeys,
  assertNoEmptyGroup,
  describeKey,
  entryRef,
  memberRef,
  planFromGroups,
  refsOf,
  removeKeys,
  sameKey,
  type GroupPlan,
  type KeyRef,
  type Member,
} from './plan.js'
export { wrapNewMembersOnly, wrapPlan } from './wrap.js'
export { diffKeyGroups, formatGroupDiffs, formatShamirDiff, keysWillChange, type GroupDiff } from './diff.js'
export { effectiveThreshold, updatedThreshold, type ThresholdInputs } from './threshold.js'
