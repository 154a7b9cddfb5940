/**
 * Up-front checks of the encryption rules. sops silently never matches an encryption regex RE2
 * cannot compile (spec §3 quirk), which would encrypt nothing under `encrypted_regex`; tsops
 * refuses such a pattern instead, naming the setting.
 */
import { assertSingleRule, RULE_FIELDS, type EncryptionRules } from '../core/rules.js'
import { compileRe2 } from '../core/regex.js'

const REGEX_RULES = RULE_FIELDS.filter(([name]) => name.endsWith('Regex'))

/**
 * At most one rule (ConflictingParametersError, exit 8) and every regex compiles under RE2
 * (ConfigError naming `<where>.<field>`, or the bare field name for CLI-given rules).
 */
export function validateRulesRegexes(rules: EncryptionRules, where?: string): void {
  assertSingleRule(rules)
  for (const [name, field] of REGEX_RULES) {
    const pattern = rules[name]
    if (pattern) compileRe2(pattern, where === undefined ? field : `${where}.${field}`)
  }
}
