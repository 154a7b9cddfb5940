/** sops splits key lists on commas, trims each item and drops empty ones (its trailing-comma fix). */
export function splitKeyList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}
