#!/usr/bin/env bash
# Test tools built from the Go module proxy: the real sops (the differential tier's reference)
# and the real age CLI. They live in a cache outside the repo, one folder per version, and are
# reused when present. Test-only: tsops never runs them.
#   TSOPS_TOOLS_DIR  the cache (default: ${XDG_CACHE_HOME:-$HOME/.cache}/tsops-tools)
set -euo pipefail
SOPS_VERSION=v3.13.2
AGE_VERSION=v1.3.1
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
echo "$tools"
