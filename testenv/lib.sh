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

# testenv_apt_install NAME PACKAGE...: install Debian packages for a test environment (root
# only; NAME says which in messages), without recommends and without letting the packages
# start their own services (a policy-rc.d denying it for the time of the install, unless the
# machine has one already, as containers usually do).
testenv_apt_install() {
    local name=$1
    shift
    if [[ $(id -u) -ne 0 ]]; then
        echo "$name: $* not installed and this is not root; run as root: apt-get install $*" >&2
        return 1
    fi
    echo "$name: installing Debian's $* (first use on this machine)" >&2
    local start policy=/usr/sbin/policy-rc.d own_policy=0 status=0
    start=$(date +%s)
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 \
        || status=$?
    [[ $own_policy == 1 ]] && rm -f "$policy"
    [[ $status == 0 ]] && echo "$name: $* installed in $(( $(date +%s) - start )) s" >&2
    return $status
}
