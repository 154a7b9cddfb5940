/**
 * One line of help per flag of args.ts's table, in sops's own words where sops has the flag.
 * A flag added to the table without a line here (or a line for a flag that is gone) fails the
 * type check, so help cannot drift from the parser. The key flags' lines are their sources'
 * (src/keys/sources/), like the flags themselves.
 */
import { KEY_SOURCES } from '../keys/registry.js'
import type { FlagName, PlainFlagName } from './args.js'

const PLAIN_FLAG_USAGE: Readonly<Record<PlainFlagName, string>> = {
  encrypt: 'encrypt a file and output the result to stdout',
  decrypt: 'decrypt a file and output the result to stdout',
  rotate: 'generate a new data encryption key and reencrypt all values with the new key',
  set: "set a specific key or branch in the input document. value must be a json encoded string. (edit mode only). eg. --set '[\"somekey\"][0] {\"somevalue\":true}'",
  'in-place': 'write output back to the same file instead of stdout',
  output: 'Save the output after encryption or decryption to the file specified',
  'output-dir': 'write each decrypted file into this directory instead of stdout (several files at once)',
  'input-type': "currently ini, json, yaml, toml, dotenv and binary are supported. If not set, sops will use the file's extension to determine the type",
  'output-type': "currently ini, json, yaml, toml, dotenv and binary are supported. If not set, sops will use the input file's extension to determine the output format",
  'filename-override': 'Use this filename instead of the provided argument for loading configuration, and for determining input type and output type',
  extract: "extract a specific key or branch from the input document. Example: --extract '[\"somekey\"][0]'",
  'ignore-mac': 'ignore Message Authentication Code during decryption',
  indent: 'the number of spaces to indent YAML or JSON encoded file (default: 0)',
  config: "path to sops' config file. If set, sops will not search for the config file recursively.",
  'aws-profile': 'The AWS profile to use for requests to AWS',
  'encryption-context': 'comma separated list of KMS encryption context key:value pairs',
  'shamir-secret-sharing-threshold': 'the number of master keys required to retrieve the data key with shamir (default: 0)',
  'decryption-order': 'comma separated list of decryption key types',
  'unencrypted-suffix': 'override the unencrypted key suffix.',
  'encrypted-suffix': 'override the encrypted key suffix. When empty, all keys will be encrypted, unless otherwise marked with unencrypted-suffix.',
  'unencrypted-regex': 'set the unencrypted key regex. When specified, only keys matching the regex will be left unencrypted.',
  'encrypted-regex': 'set the encrypted key regex. When specified, only keys matching the regex will be encrypted.',
  'unencrypted-comment-regex': 'set the unencrypted comment suffix. When specified, only keys that have comment matching the regex will be left unencrypted.',
  'encrypted-comment-regex': 'set the encrypted comment suffix. When specified, only keys that have comment matching the regex will be encrypted.',
  'mac-only-encrypted': 'compute MAC only over values which end up encrypted',
  'show-master-keys': 'display master encryption keys in the file during editing',
  yes: 'pre-approve all changes and run non-interactively',
  idempotent: 'do nothing if the given index already has the given value (set) or does not exist (unset)',
  'value-file': "treat 'value' as a file to read the actual value from (avoids leaking secrets in process listings). Mutually exclusive with --value-stdin",
  'value-stdin': "read the value from stdin; the 'value' argument to 'set' is not needed in this case (avoids leaking secrets in process listings). Mutually exclusive with --value-file",
  pristine: 'insert only the decrypted values into the environment without forwarding existing environment variables',
  'no-fifo': 'use a regular file instead of a fifo to temporarily hold the decrypted contents',
  filename: 'filename for the temporary file (default: tmp-file)',
  user: 'the user to run the command as',
  background: "background the process and don't wait for it to complete (DEPRECATED)",
  'same-process': 'run command in the current process instead of in a child process',
  file: 'the file to add the group to',
  json: 'print the findings as JSON',
  'verify-mac': "also check each file's MAC (needs a key that can decrypt the data key)",
  terraform: "print a flat JSON object of strings for Terraform's external data source",
  'tsops-command': "the shell words git's drivers and hook run tsops with",
  pattern: 'a path pattern (gitattributes syntax) to route through the drivers; repeatable',
  since: 'check every file version the commits REF..HEAD bring',
  verbose: 'Enable verbose logging output',
  version: 'print the version',
  help: 'show help',
  'disable-version-check': 'do not check whether the current version is latest during --version',
  'check-for-updates': 'do check whether the current version is latest during --version',
  keyservice: 'Specify the key services to use in addition to the local one. Can be specified more than once. Syntax: protocol://address. Example: tcp://myserver.com:5000',
  'enable-local-keyservice': 'use local key service',
  recursive: 'If the source path is a directory, publish all its content recursively',
  'omit-extensions': 'Omit file extensions in destination path when publishing sops file to configured destinations',
  network: "network to listen on, e.g. 'tcp' or 'unix'",
  net: "network to listen on, e.g. 'tcp' or 'unix' (short for --network)",
  address: "address to listen on, e.g. '127.0.0.1:5000' or '/tmp/sops.sock'",
  addr: "address to listen on, e.g. '127.0.0.1:5000' or '/tmp/sops.sock' (short for --address)",
  prompt: 'Prompt user to confirm every incoming request',
}

const KEY_FLAG_USAGE: Readonly<Record<string, string>> = Object.fromEntries(
  KEY_SOURCES.flatMap(({ flag }) => [
    [flag.name, flag.usage],
    [`add-${flag.name}`, flag.addUsage],
    [`rm-${flag.name}`, flag.rmUsage],
  ]),
)

export const FLAG_USAGE: Readonly<Record<FlagName, string>> = { ...PLAIN_FLAG_USAGE, ...KEY_FLAG_USAGE } as Record<FlagName, string>
