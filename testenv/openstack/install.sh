#!/usr/bin/env bash
# Installs what the OpenStack test environment needs, once per machine: Debian's `keystone`
# package (Keystone 22 "Zed" from bookworm, with uwsgi and its python3 plugin as dependencies)
# and `nova-api` (Nova 26 "Zed").
# The packages' own services are never started (a policy-rc.d denies it in containers, and
# start.sh runs its own instance); nothing of the package's /etc/keystone config is used.
#
#   testenv/openstack/install.sh          # no-op when already installed (< 0.1 s)
#
# A pristine, migrated Keystone database is cached per Keystone version in
# ${DETEK_TESTENV_CACHE:-$HOME/.cache/detek-testenv}/openstack (start.sh fills it on first use),
# so that later starts skip the ~10 s of `keystone-manage db_sync`.
set -euo pipefail

need_install() {
    [[ -x /usr/bin/keystone-manage && -x /usr/bin/uwsgi && -f /usr/bin/keystone-wsgi-public ]] || return 0
    [[ -f /usr/lib/uwsgi/plugins/python3_plugin.so ]] || return 0
    command -v ip >/dev/null || return 0
    [[ "${DETEK_TESTENV_OS_NOVA:-auto}" == replay || -x /usr/bin/nova-api-wsgi ]] || return 0
    return 1
}

if ! need_install; then
    exit 0
fi

CACHE="${DETEK_TESTENV_CACHE:-$HOME/.cache/detek-testenv}/openstack"
mkdir -p "$CACHE"
exec 9>"$CACHE/install.lock"
flock 9
if ! need_install; then exit 0; fi

if [[ $(id -u) -ne 0 ]]; then
    echo "testenv/openstack: keystone is not installed and this is not root; run as root: apt-get install keystone" >&2
    exit 1
fi
echo "testenv/openstack: installing Debian's keystone package (first use on this machine)" >&2
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
# The packages would start their own keystone/nova-api services: a policy-rc.d that denies
# it (containers usually have one already) for the time of the install.
POLICY=/usr/sbin/policy-rc.d
if [[ ! -e "$POLICY" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY" && chmod +x "$POLICY"
    trap 'rm -f "$POLICY"' EXIT
fi
apt-get update -qq >&2
# --no-install-recommends: the recommended apache2/memcached are not needed.
pkgs=(keystone iproute2)
# The real nova-api (~40 MB of .debs, ~1.5 min more); DETEK_TESTENV_OS_NOVA=replay skips it.
[[ "${DETEK_TESTENV_OS_NOVA:-auto}" == replay ]] || pkgs+=(nova-api)
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
echo "testenv/openstack: keystone installed in $(( $(date +%s) - start )) s" >&2
