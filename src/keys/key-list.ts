/**
 * sops's parseKeyField: a flat creation rule's string field split on commas, each item trimmed,
 * empty ones dropped (its trailing-comma fix). Flags, env vars and rule lists are not read this
 * way: see splitGoCommaList.
 */
export function splitKeyList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/**
 * Go's strings.Split on commas, as sops's key-list constructors (MasterKeysFromRecipients,
 * MasterKeysFromFingerprintString, …) call it on a flag, an env var or a rule's joined list: an
 * empty value is no item, but an empty item (`a,,b`, `a,`) stays, and each constructor decides
 * what it means (src/keys/registry.ts keySpecsFromList).
 */
export function splitGoCommaList(value: string): string[] {
  return value === '' ? [] : value.split(',')
}
