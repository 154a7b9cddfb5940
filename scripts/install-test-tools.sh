#!/usr/bin/env bash
# Test tools: the real sops (the differential tier's reference) and the real age CLI, built from
# the Go module proxy, moto's AWS server from PyPI (a second, independent KMS for the tier, and
# the S3 that `publish` uploads to), fake-gcs-server (the GCS that `publish` uploads to) and
# C2SP's age test vectors (CCTV, the Go module c2sp.org/CCTV/age) for the interop tier.
# They live in a cache outside the repo, one folder per version, and are reused when present.
# Test-only: tsops never runs them.
#   TSOPS_TOOLS_DIR  the cache (default: ${XDG_CACHE_HOME:-$HOME/.cache}/tsops-tools)
set -euo pipefail
SOPS_VERSION=v3.13.2
AGE_VERSION=v1.3.1
MOTO_VERSION=5.2.6
FAKE_GCS_VERSION=v1.56.1
CCTV_AGE_VERSION=v0.0.0-20251208015420-e9274a7bdbfd
tools="${TSOPS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tsops-tools}"

# install NAME VERSION MODULE-PATTERN BINARY: go install into $tools/NAME-VERSION unless BINARY is there.
install() {
  local dir="$tools/$1-$2"
  if [ -x "$dir/$4" ]; then return 0; fi
  command -v go >/dev/null || { echo "install-test-tools: go is needed to build $1 $2" >&2; exit 1; }
  echo "install-test-tools: building $1 $2 into $dir" >&2
  mkdir -p "$dir.tmp"
  GOBIN="$(cd "$dir.tmp" && pwd)" GOFLAGS=-mod=mod go install "$3@$2"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

install sops "$SOPS_VERSION" github.com/getsops/sops/v3/cmd/sops sops
install age "$AGE_VERSION" 'filippo.io/age/cmd/...' age-keygen
install fake-gcs-server "$FAKE_GCS_VERSION" github.com/fsouza/fake-gcs-server fake-gcs-server
# age's extra plugins (age-plugin-tag, -tagpq, -pq): real plugins for the age plugin protocol tests
# (cmd/... above already brings age-plugin-batchpass).
install age-extra "$AGE_VERSION" 'filippo.io/age/extra/...' age-plugin-tag

# The age test vectors: the module's testdata/ copied out of Go's module cache (read-only there).
cctv="$tools/cctv-age-$CCTV_AGE_VERSION"
if [ ! -f "$cctv/testdata/x25519" ]; then
  command -v go >/dev/null || { echo "install-test-tools: go is needed to download c2sp.org/CCTV/age" >&2; exit 1; }
  echo "install-test-tools: downloading c2sp.org/CCTV/age $CCTV_AGE_VERSION into $cctv" >&2
  scratch="$(mktemp -d)" # go mod download wants a directory without a go.mod of its own
  dir="$(cd "$scratch" && GOFLAGS=-mod=mod go mod download -json "c2sp.org/CCTV/age@$CCTV_AGE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  rmdir "$scratch"
  [ -f "$dir/testdata/x25519" ] || { echo "install-test-tools: c2sp.org/CCTV/age has no testdata in '$dir'" >&2; exit 1; }
  rm -rf "$cctv.tmp" && mkdir -p "$cctv.tmp" && cp -R "$dir/testdata" "$cctv.tmp/" && chmod -R u+w "$cctv.tmp"
  rm -rf "$cctv" && mv "$cctv.tmp" "$cctv"
fi

# moto in a virtualenv of its own, so no system Python package is touched.
moto="$tools/moto"
if [ ! -x "$moto/bin/moto_server" ] || [ "$(cat "$moto/.version" 2>/dev/null)" != "$MOTO_VERSION" ]; then
  command -v python3 >/dev/null || { echo "install-test-tools: python3 is needed for moto" >&2; exit 1; }
  echo "install-test-tools: installing moto $MOTO_VERSION into $moto" >&2
  rm -rf "$moto" && python3 -m venv "$moto"
  "$moto/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  echo "$MOTO_VERSION" > "$moto/.version"
fi
echo "$tools"
