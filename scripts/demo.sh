#!/usr/bin/env bash
# The main job in one go: generate an age key, encrypt a sample file, decrypt it again.
# Uses a throw-away key directory so it never touches your own ~/.config/sops/age/keys.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=$(mktemp -d)
trap 'rm -rf "$demo"' EXIT
export XDG_CONFIG_HOME="$demo/config"
tsops() { node dist/cli/tsops.cjs "$@"; }

recipient=$(tsops keygen)
echo "== age recipient: $recipient"
cp fixtures/sample/secrets.yaml "$demo/secrets.yaml"
tsops encrypt --age "$recipient" --in-place "$demo/secrets.yaml"
echo "== encrypted (values are ENC[...], keys stay readable):"
cat "$demo/secrets.yaml"
echo "== decrypted:"
tsops decrypt "$demo/secrets.yaml"
tsops decrypt "$demo/secrets.yaml" | cmp -s - fixtures/sample/secrets.yaml && echo "== round trip: identical bytes"
