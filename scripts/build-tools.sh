#!/usr/bin/env bash
# Builds the Go programs that the tests run (the Pulumi CLI and its plugins, Traefik, ...) from the
# wrapper modules under tools/<name>/, into a cache keyed by the hash of each wrapper's files, so a
# warm machine never rebuilds. No code from other repositories is kept here: each wrapper is a go.mod
# (with the upstream module's replace directives repeated), a go.sum and, where upstream's main cannot
# be built from its module zip, a small main of our own.
#
#   tools/<name>/build.env   PACKAGE=<import path of the main package>   BINARY=<file name>
#                            LDFLAGS=<optional -ldflags>                  TAGS=<optional build tags>
#                            PREBUILD=<optional command, run before the build in a copy of the folder,
#                                      with $GOBUILD = the same `go build` flags; e.g. a schema that the
#                                      main embeds and that may not be committed>
#
# The build runs in a copy of the folder, so nothing a PREBUILD writes (and no go.sum update) lands
# in the repository or changes the folder's hash.
#
# Usage: scripts/build-tools.sh [name ...]     (no name: every folder under tools/)
# Prints one line per tool and, last, the folder to put on PATH (also linked as $cache/bin).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${ADVWELL_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/advwell-tools}
command -v go >/dev/null 2>&1 || { echo "build-tools: no 'go' on PATH (Go 1.26 is part of this machine kind; /usr/local/go/bin)" >&2; exit 1; }
mkdir -p "$cache/bin"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for d in "$root"/tools/*/; do [ -f "$d/build.env" ] && names+=("$(basename "$d")"); done
fi
for name in "${names[@]}"; do
  dir=$root/tools/$name
  [ -f "$dir/build.env" ] || { echo "build-tools: tools/$name/build.env is missing" >&2; exit 1; }
  PACKAGE='' BINARY='' LDFLAGS='' TAGS='' PREBUILD=''
  # shellcheck disable=SC1091
  . "$dir/build.env"
  hash=$( (cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum; go env GOVERSION) | sha256sum | cut -c1-16)
  out=$cache/$name-$hash
  started=$(date +%s)
  # One build of a tool at a time (two test runs, or CI and a shell, share the cache and $out.tmp).
  exec 9>"$cache/.lock-$name"
  flock 9
  if [ -x "$out/$BINARY" ]; then
    state=cached
  else
    rm -rf "$out.tmp" && mkdir -p "$out.tmp" && cp -R "$dir" "$out.tmp/src"
    (
      cd "$out.tmp/src"
      export GOFLAGS=-mod=mod
      if [ -n "$PREBUILD" ]; then
        GOBUILD="go build -trimpath ${TAGS:+-tags $TAGS}" LDFLAGS="$LDFLAGS" bash -euo pipefail -c "$PREBUILD"
      fi
      go build -trimpath ${TAGS:+-tags "$TAGS"} -ldflags "${LDFLAGS}" -o "$out.tmp/$BINARY" "$PACKAGE"
    )
    rm -rf "$out.tmp/src" "$out" && mv "$out.tmp" "$out"
    state=built
  fi
  ln -sfn "$out/$BINARY" "$cache/bin/$BINARY"
  exec 9>&-
  echo "build-tools: $name ($BINARY) $state in $(( $(date +%s) - started )) s: $out/$BINARY"
done
echo "$cache/bin"
