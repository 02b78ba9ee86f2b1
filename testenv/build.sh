#!/usr/bin/env bash
# Builds the pinned kube-apiserver and etcd binaries once into
#   ${DETEK_TESTENV_CACHE:-$HOME/.cache/detek-testenv}/bin
# and skips the build when the binaries for the pinned versions (and the same
# go.sum) are already there. Safe to run concurrently (flock).
#
# Environment:
#   DETEK_TESTENV_CACHE   cache directory (default: ~/.cache/detek-testenv)
#   DETEK_TESTENV_REBUILD=1  force a rebuild
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

ensure_tools() {
    local missing=()
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    command -v curl >/dev/null 2>&1 || missing+=(curl ca-certificates)
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    testenv_log "installing missing tools: ${missing[*]}"
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null 2>&1 || testenv_die "need ${missing[*]} (not root, no sudo)"
        sudo=(sudo)
    fi
    command -v apt-get >/dev/null 2>&1 || testenv_die "need ${missing[*]} and apt-get is not available"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

# build_one NAME MODULE_DIR PACKAGE TARGET [EXTRA_LDFLAGS]
build_one() {
    local name="$1" moddir="$2" pkg="$3" target="$4" ldflags="-s -w ${5:-}"
    local stamp="$target.stamp" want
    want="$( (cat "$moddir/go.mod" "$moddir/go.sum"; echo "$ldflags") | sha256sum | cut -d' ' -f1)"
    if [[ "${DETEK_TESTENV_REBUILD:-0}" != 1 && -x "$target" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        testenv_log "$name: up to date ($target)"
        return 0
    fi
    testenv_log "$name: building $pkg -> $target (this takes a while on a cold Go build cache)"
    local start=$SECONDS tmp="$target.tmp.$$"
    # CGO off: static binaries, as the upstream release builds; -trimpath and
    # -s -w keep them smaller. GOFLAGS is reset so a caller's -mod=vendor etc.
    # cannot interfere.
    if ! (cd "$moddir" && CGO_ENABLED=0 GOFLAGS=-mod=readonly \
        go build -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg"); then
        rm -f "$tmp"
        testenv_die "$name: go build failed"
    fi
    mv -f "$tmp" "$target"
    echo "$want" >"$stamp"
    testenv_log "$name: built in $((SECONDS - start))s ($(du -h "$target" | cut -f1))"
}

main() {
    ensure_tools
    command -v go >/dev/null 2>&1 || testenv_die "go is not installed (Go >= 1.26 is needed)"
    mkdir -p "$TESTENV_BIN"

    # Serialise concurrent builds (e.g. several test binaries starting at once).
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$TESTENV_CACHE/build.lock"
        if ! flock -n 9; then
            testenv_log "another build is running, waiting for it"
            flock 9
        fi
    fi

    testenv_log "kube-apiserver $K8S_VERSION, etcd $ETCD_VERSION, $(go version)"
    build_one etcd "$TESTENV_HERE/etcd" go.etcd.io/etcd/server/v3 "$ETCD_BIN"
    # Stamp the real version into the binary (what the upstream release build
    # does via hack/lib/version.sh); otherwise /version reports v0.0.0-master.
    local minor="${K8S_VERSION#v1.}"
    minor="${minor%%.*}"
    local vflags="" p
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        vflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    done
    build_one kube-apiserver "$TESTENV_HERE/apiserver" k8s.io/kubernetes/cmd/kube-apiserver "$KUBE_APISERVER_BIN" "$vflags"
    "$ETCD_BIN" --version >/dev/null || testenv_die "etcd binary does not run"
    "$KUBE_APISERVER_BIN" --version >/dev/null || testenv_die "kube-apiserver binary does not run"
    testenv_log "binaries ready in $TESTENV_BIN"
}

main "$@"
