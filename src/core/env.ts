/** An environment as tsops passes it around: a variable may be present but unset (undefined). */
export type EnvVars = Readonly<Record<string, string | undefined>>

/** The variables that are set, as a child process's environment takes them. */
export function definedEnv(env: EnvVars): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v
  return out
}
