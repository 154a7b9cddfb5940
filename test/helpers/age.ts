import { generateAgeIdentity } from '../../src/keys/age.js'

let cached: Promise<{ identity: string; recipient: string }> | undefined

/** One throw-away age identity per test file. */
export function testAgeIdentity(): Promise<{ identity: string; recipient: string }> {
  cached ??= generateAgeIdentity()
  return cached
}
