# shellcheck shell=bash
# Shared helpers for the detek test environment scripts (sourced, not run).

TESTENV_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TESTENV_CACHE="${DETEK_TESTENV_CACHE:-$HOME/.cache/detek-testenv}"
TESTENV_BIN="$TESTENV_CACHE/bin"

# The pinned versions are read from the go.mod files, which are the single
# source of truth.
K8S_VERSION="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' "$TESTENV_HERE/apiserver/go.mod")"
ETCD_VERSION="$(awk '$1 == "go.etcd.io/etcd/server/v3" { print $2; exit }' "$TESTENV_HERE/etcd/go.mod")"
if [[ -z "$K8S_VERSION" || -z "$ETCD_VERSION" ]]; then
    echo "testenv: cannot read pinned versions from $TESTENV_HERE/{apiserver,etcd}/go.mod" >&2
    exit 1
fi

# shellcheck disable=SC2034 # used by the scripts that source this file
KUBE_APISERVER_BIN="$TESTENV_BIN/kube-apiserver-$K8S_VERSION"
# shellcheck disable=SC2034
ETCD_BIN="$TESTENV_BIN/etcd-$ETCD_VERSION"

testenv_log() { echo "testenv: $*" >&2; }
testenv_die() { echo "testenv: ERROR: $*" >&2; exit 1; }
