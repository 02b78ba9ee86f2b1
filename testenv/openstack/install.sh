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
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

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

# --no-install-recommends: the recommended apache2/memcached are not needed.
pkgs=(keystone iproute2)
# The real nova-api (~40 MB of .debs, ~1.5 min more); DETEK_TESTENV_OS_NOVA=replay skips it.
[[ "${DETEK_TESTENV_OS_NOVA:-auto}" == replay ]] || pkgs+=(nova-api)
testenv_apt_install testenv/openstack "${pkgs[@]}"
