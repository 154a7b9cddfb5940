/**
 * Which files must be encrypted, and which merely carry sops metadata (and are therefore
 * checked too). Shared by `tsops check` and the git pre-commit guard.
 *
 *  - A file whose first matching `.sops.yaml` creation rule has a `path_regex` must be encrypted
 *    (that rule is what `tsops encrypt` would use for it).
 *  - A rule without `path_regex` is a catch-all that only chooses keys: it selects no file,
 *    otherwise a catch-all would demand that README.md be encrypted. The `.sops.yaml` file
 *    itself is never selected.
 *  - Any other file is checked when it carries sops metadata (sniffed, then parsed), so a broken
 *    encrypted file is caught wherever it lives; files over SNIFF_LIMIT are not inspected.
 *
 * The config is the nearest `.sops.yaml` from the file's directory upward (what `cd dir &&
 * tsops encrypt file` would use), unless one is given explicitly.
 */
import path from 'node:path'
import { CONFIG_FILE_NAME, findConfigFile, loadConfig, matchCreationRule, type SopsConfig } from '../config/index.js'

/** Files not selected by a rule are inspected only up to this size. */
export const SNIFF_LIMIT = 4 * 1024 * 1024

interface LoadedConfig {
  path: string
  config: SopsConfig
}

export class RuleIndex {
  private readonly byDir = new Map<string, LoadedConfig | null>()
  private readonly configs = new Map<string, LoadedConfig>()

  /**
   * @param explicitConfig `--config`: used for every file instead of the per-directory search
   * @param warn receives the `.sops.yml` notice of the config search
   */
  constructor(
    private readonly explicitConfig?: string,
    private readonly warn?: (message: string) => void,
  ) {}

  private load(file: string): LoadedConfig {
    const abs = path.resolve(file)
    let c = this.configs.get(abs)
    if (!c) {
      c = { path: abs, config: loadConfig(abs) }
      this.configs.set(abs, c)
    }
    return c
  }

  /** The config that governs files in `dir` (absolute), cached per directory. */
  configFor(dir: string): LoadedConfig | undefined {
    if (this.explicitConfig) return this.load(this.explicitConfig)
    const cached = this.byDir.get(dir)
    if (cached !== undefined) return cached ?? undefined
    const found = findConfigFile(dir, this.warn)
    const result = found === undefined ? null : this.load(found)
    this.byDir.set(dir, result)
    return result ?? undefined
  }

  /**
   * Where to run tsops for `absFile` so it finds the same .sops.yaml, seen from `cwd`: undefined
   * when that is `cwd` itself (or no config applies, or one is given explicitly).
   */
  runFrom(absFile: string, cwd: string): { dir: string; file: string } | undefined {
    if (this.explicitConfig) return undefined
    const loaded = this.configFor(path.dirname(absFile))
    if (!loaded) return undefined
    const dir = path.dirname(loaded.path)
    if (path.resolve(cwd) === dir) return undefined
    const posix = (p: string) => p.split(path.sep).join('/')
    return { dir: posix(path.relative(cwd, dir)), file: posix(path.relative(dir, absFile)) }
  }

  /** Must this file (absolute path) be encrypted according to its creation rules? */
  mustBeEncrypted(absFile: string): boolean {
    if (path.basename(absFile) === CONFIG_FILE_NAME) return false
    const loaded = this.configFor(path.dirname(absFile))
    if (!loaded) return false
    const rule = matchCreationRule(loaded.config, loaded.path, absFile, path.dirname(loaded.path))
    return rule !== undefined && rule.pathRegex !== undefined && rule.pathRegex !== ''
  }
}

/**
 * Could these bytes carry sops metadata? Every encrypted layout names it: YAML `sops:`, JSON
 * `"sops"`, dotenv `sops_…`, INI/TOML `[sops]`. Cheap enough to run on every staged blob; a
 * positive answer is confirmed by parsing.
 */
export function mayCarrySopsMetadata(bytes: Uint8Array): boolean {
  if (bytes.length > SNIFF_LIMIT) return false
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return buf.indexOf('sops') !== -1 && (buf.indexOf('lastmodified') !== -1 || buf.indexOf('ENC[AES256_GCM,') !== -1)
}
