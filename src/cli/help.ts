/** Usage text. Kept apart so `--help` needs no command module. */
import { SOPS_FORMAT_VERSION } from '../core/metadata.js'

declare const TSOPS_VERSION: string | undefined

export const VERSION = typeof TSOPS_VERSION === 'string' ? TSOPS_VERSION : '0.0.0-dev'

export const VERSION_TEXT = `tsops ${VERSION} (sops ${SOPS_FORMAT_VERSION} compatible)\n`

export const HELP = `tsops — SOPS-compatible encrypted config files (YAML, JSON, TOML, dotenv, INI, binary)

Usage:
  tsops encrypt [flags] FILE        encrypt FILE (stdout, --output F, or -i in place)
  tsops decrypt [flags] FILE...     decrypt FILE (stdin with - or /dev/stdin)
  tsops keygen                      create an age identity in the default key file
  tsops -e|-d [flags] FILE          sops's legacy flag style

Common flags:
  -i, --in-place                    write the result back to FILE
      --output FILE                 write the result to FILE
      --input-type, --output-type   yaml | json | toml | dotenv | ini | binary
      --extract '["a"][0]'          decrypt one value or subtree
      --ignore-mac                  decrypt even if the MAC does not verify
  -a, --age RECIPIENTS              age recipients (comma list; env SOPS_AGE_RECIPIENTS)
  -p, --pgp FINGERPRINTS            PGP fingerprints (comma list; env SOPS_PGP_FP)
      --filename-override NAME      name used for format detection and creation rules
      --config FILE                 use this .sops.yaml instead of searching from the cwd
      --unencrypted-suffix S, --encrypted-suffix S, --unencrypted-regex R,
      --encrypted-regex R, --unencrypted-comment-regex R,
      --encrypted-comment-regex R, --mac-only-encrypted
      --shamir-secret-sharing-threshold N
      --decryption-order age,pgp    key types to try first (env SOPS_DECRYPTION_ORDER)
      --indent N                    YAML/JSON output indentation
  -v, --version                     print the version
  -h, --help                        print this help

Keys for decryption: age identities from SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD or
~/.config/sops/age/keys.txt; PGP through gpg (GNUPGHOME).

Exit codes are sops's: 2 read, 3 write, 25 value decrypt, 51 MAC mismatch, 91 bad path,
100 no file, 128 no key could decrypt, 200 not modified, 203 already encrypted.
`
