/** Usage text. Kept apart so `--help` needs no command module. */
import { SOPS_FORMAT_VERSION } from '../core/metadata.js'

declare const TSOPS_VERSION: string | undefined

export const VERSION = typeof TSOPS_VERSION === 'string' ? TSOPS_VERSION : '0.0.0-dev'

export const VERSION_TEXT = `tsops ${VERSION} (sops ${SOPS_FORMAT_VERSION} compatible)\n`

/** Under the `sops` name, tools that parse `sops --version` see sops's own first word and version. */
export const SOPS_VERSION_TEXT = `sops ${SOPS_FORMAT_VERSION} (tsops ${VERSION})\n`

export const HELP = `tsops — SOPS-compatible encrypted config files (YAML, JSON, TOML, dotenv, INI, binary)

Usage:
  tsops encrypt [flags] FILE        encrypt FILE (stdout, --output F, or -i in place)
  tsops decrypt [flags] FILE...     decrypt files (stdin with - or /dev/stdin; --output-dir DIR)
  tsops decrypt --terraform [FILE]  flat JSON of strings for Terraform's external data source
  tsops edit FILE                   edit decrypted in $SOPS_EDITOR/$EDITOR, re-encrypt (also: tsops FILE)
  tsops set FILE PATH VALUE         set one value (JSON), e.g. tsops set f.yaml '["db"]["pass"]' '"x"'
  tsops unset FILE PATH             remove one value
  tsops apply FILE NEW_PLAINTEXT    re-encrypt a new plaintext into FILE, unchanged values keep their ciphertext
  tsops exec-env FILE CMD           run CMD with the file's top-level values in its environment
  tsops exec-file FILE CMD          run CMD with {} replaced by a FIFO (or --no-fifo file) holding the plaintext
  tsops rotate [-i] FILE|DIR...     new data key, every value re-encrypted (--add-*/--rm-* keys)
  tsops updatekeys [-y] FILE|DIR... bring master keys in line with .sops.yaml (same data key)
  tsops groups add|delete --file F  add or remove a key group (Shamir)
  tsops filestatus FILE             {"encrypted":true|false}
  tsops check [--json] PATH...      keyless check: metadata valid, every value that must be encrypted is
  tsops check --since REF           the same for every file version the commits REF..HEAD bring (CI)
  tsops git install|uninstall       git diff/merge drivers and the pre-commit guard for this repo
  tsops keygen                      create an age identity in the default key file
  tsops -e|-d|-r [flags] FILE       sops's legacy flag style

Common flags:
  -i, --in-place                    write the result back to FILE
      --output FILE                 write the result to FILE
      --input-type, --output-type   yaml | json | toml | dotenv | ini | binary
      --extract '["a"][0]'          decrypt one value or subtree
      --ignore-mac                  decrypt even if the MAC does not verify
  -a, --age RECIPIENTS              age recipients (comma list; env SOPS_AGE_RECIPIENTS)
  -p, --pgp FINGERPRINTS            PGP fingerprints (comma list; env SOPS_PGP_FP)
  -k, --kms ARNS                    AWS KMS key ARNs, ARN+ROLE_ARN to assume a role (env SOPS_KMS_ARN)
      --aws-profile P, --encryption-context k:v,k2:v2
      --gcp-kms IDS                 GCP KMS resource ids (env SOPS_GCP_KMS_IDS)
      --azure-kv URLS               Azure Key Vault key URLs (env SOPS_AZURE_KEYVAULT_URLS)
      --hc-vault-transit URIS       Vault transit key URIs (env SOPS_VAULT_URIS)
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
