/** Where a value sits in a parsed config document: `creation_rules[0].key_groups[1].kms[0].arn`. */
export type FieldPath = readonly (string | number)[]

/** `creation_rules[0].key_groups[1].kms[0].arn` */
export function formatPath(path: FieldPath): string {
  let out = ''
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out === '' ? seg : `.${seg}`
  return out === '' ? 'the top level' : out
}
