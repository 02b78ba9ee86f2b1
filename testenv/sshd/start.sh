#!/usr/bin/env bash
# Starts the SSH hosts of the node-check tests (crates/detek-node/tests/ssh.rs): private
# instances of Debian's sshd with generated keys, and the broken hosts the tests need.
#
#   testenv/sshd/start.sh DIR        # writes DIR/env (sourced by tests), logs and keys in DIR
#   testenv/sshd/stop.sh DIR [--purge]
#
# Hosts (every address is loopback or inside a network namespace made here):
#   SSHD_LOOPBACK   two sshd on 127.0.0.1 (host key A, in known_hosts)
#   SSHD_NETNS      three sshd, each inside its own network namespace (detek-sshd-PID-N) reached
#                   over a veth pair at 10.251.N.2:22, so that their `net.*` parameters are that
#                   namespace's own: the third has net.core.somaxconn=1024 and
#                   net.ipv4.ip_forward=1, the others the kernel's defaults for a new namespace
#   SSHD_CHANGED    sshd with host key B where known_hosts holds key A (a changed key)
#   SSHD_UNKNOWN    sshd with host key A, absent from known_hosts (an unknown key)
#   SSHD_SILENT     a port that accepts TCP connections and never speaks
#   SSHD_REFUSED    a loopback port nothing listens on
# Keys: SSHD_KEY (authorised), SSHD_WRONG_KEY (not authorised), SSHD_KNOWN_HOSTS; SSHD_USER is
# the user running this script (sshd runs as that user; network namespaces need root).
#
# Environment: DETEK_TESTENV_WATCH_PID=PID (stop and delete DIR as soon as PID is gone),
# DETEK_TESTENV_NO_INSTALL=1 (fail instead of installing), SSHD_NETNS=0 (no namespaces:
# for a machine without them; the tests that need them then fail with that reason).
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$1"
DIR="$(cd "$1" && pwd)"
[[ "$DIR" =~ ^[A-Za-z0-9_./+@:,-]+$ ]] || { echo "testenv/sshd: DIR must not contain spaces or shell metacharacters: $DIR" >&2; exit 2; }
log() { echo "testenv/sshd: $*" >&2; }
fail() { log "ERROR: $*"; "$HERE/stop.sh" "$DIR" >/dev/null 2>&1 || true; exit 1; }

if [[ "${DETEK_TESTENV_NO_INSTALL:-0}" != 1 ]]; then
    bash "$HERE/install.sh"
fi
[[ -x /usr/sbin/sshd ]] || fail "/usr/sbin/sshd is missing (apt-get install openssh-server)"

USER_NAME="$(id -un)"
WANT_NETNS="${SSHD_NETNS:-1}"
if [[ $WANT_NETNS == 1 && $(id -u) -ne 0 ]]; then
    log "not root: no network namespaces (the tests that need them will say so)"
    WANT_NETNS=0
fi
# Privilege separation directory of Debian's sshd.
[[ $(id -u) -eq 0 ]] && mkdir -p /run/sshd && chmod 755 /run/sshd

mkdir -p "$DIR/keys"
umask 077
for k in host_a host_b user wrong; do
    [[ -f "$DIR/keys/$k" ]] || ssh-keygen -q -t ed25519 -N '' -C "detek-testenv-$k" -f "$DIR/keys/$k"
done
cp "$DIR/keys/user.pub" "$DIR/authorized_keys"

free_ports() {
    python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}
read -r P1 P2 P_CHANGED P_UNKNOWN P_SILENT P_REFUSED < <(free_ports 6)

# sshd_run NAME HOSTKEY LISTEN [netns]: one sshd in the foreground of a background job.
sshd_run() {
    local name=$1 hostkey=$2 listen=$3 ns=${4:-}
    local -a cmd=(/usr/sbin/sshd -D -e -f /dev/null
        -o "ListenAddress=$listen" -o "HostKey=$DIR/keys/$hostkey"
        -o "AuthorizedKeysFile=$DIR/authorized_keys" -o "PidFile=none" -o StrictModes=no
        -o UsePAM=no -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no
        -o PermitRootLogin=prohibit-password -o MaxStartups=200 -o MaxSessions=50
        -o "SetEnv=DETEK_TESTENV_DIR=$DIR")
    if [[ -n $ns ]]; then cmd=(ip netns exec "$ns" "${cmd[@]}"); fi
    "${cmd[@]}" >"$DIR/$name.log" 2>&1 &
    echo $! >"$DIR/$name.pid"
}

wait_port() {  # wait_port HOST PORT NAME: until it accepts (10 s)
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
        sleep 0.1
    done
    fail "$3 did not listen on $1:$2 within 10 s: $(tail -3 "$DIR/$3.log" 2>/dev/null)"
}

: >"$DIR/known_hosts"
hostkey_line() { echo "$1 $(cut -d' ' -f1-2 "$DIR/keys/$2.pub")" >>"$DIR/known_hosts"; }

sshd_run loopback-1 host_a "127.0.0.1:$P1"
sshd_run loopback-2 host_a "127.0.0.1:$P2"
sshd_run changed host_b "127.0.0.1:$P_CHANGED"
sshd_run unknown host_a "127.0.0.1:$P_UNKNOWN"
hostkey_line "[127.0.0.1]:$P1" host_a
hostkey_line "[127.0.0.1]:$P2" host_a
hostkey_line "[127.0.0.1]:$P_CHANGED" host_a

# A port that accepts and never speaks: SSH's greeting never comes.
python3 -c '
import socket, sys, time, os
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$P_SILENT" "$DIR" >"$DIR/silent.log" 2>&1 &
echo $! >"$DIR/silent.pid"

NETNS_HOSTS=""
NETNS_NAMES=""
if [[ $WANT_NETNS == 1 ]]; then
    for n in 1 2 3; do
        ns="detek-sshd-$$-$n"
        outer="dks$$o$n"; inner="dks$$i$n"
        outer=${outer:0:15}; inner=${inner:0:15}
        addr="10.251.$n"
        # The previous test binary's watchdog may still be removing its namespaces (~1 s).
        for _ in $(seq 1 50); do ip -o addr show | grep -q " $addr\." || break; sleep 0.1; done
        if ip -o addr show | grep -q " $addr\."; then fail "$addr.0/30 is in use on this machine"; fi
        ip netns add "$ns" || fail "cannot create network namespace $ns"
        echo "$ns" >>"$DIR/netns"
        ip link add "$outer" type veth peer name "$inner" netns "$ns"
        echo "$outer" >>"$DIR/links"
        ip addr add "$addr.1/30" dev "$outer"
        ip link set "$outer" up
        ip netns exec "$ns" ip addr add "$addr.2/30" dev "$inner"
        ip netns exec "$ns" ip link set "$inner" up
        ip netns exec "$ns" ip link set lo up
        if [[ $n == 3 ]]; then
            ip netns exec "$ns" sh -c 'echo 1024 > /proc/sys/net/core/somaxconn; echo 1 > /proc/sys/net/ipv4/ip_forward'
        fi
        sshd_run "netns-$n" host_a "$addr.2:22" "$ns"
        hostkey_line "$addr.2" host_a
        NETNS_HOSTS+="$addr.2 "
        NETNS_NAMES+="$ns "
    done
fi

wait_port 127.0.0.1 "$P1" loopback-1
wait_port 127.0.0.1 "$P2" loopback-2
wait_port 127.0.0.1 "$P_CHANGED" changed
wait_port 127.0.0.1 "$P_UNKNOWN" unknown
wait_port 127.0.0.1 "$P_SILENT" silent
n=0
for h in $NETNS_HOSTS; do n=$((n + 1)); wait_port "$h" 22 "netns-$n"; done

cat >"$DIR/env.tmp" <<ENV
SSHD_USER=$USER_NAME
SSHD_KEY=$DIR/keys/user
SSHD_WRONG_KEY=$DIR/keys/wrong
SSHD_KNOWN_HOSTS=$DIR/known_hosts
SSHD_LOOPBACK="127.0.0.1:$P1 127.0.0.1:$P2"
SSHD_NETNS="${NETNS_HOSTS% }"
SSHD_NETNS_NAMES="${NETNS_NAMES% }"
SSHD_CHANGED=127.0.0.1:$P_CHANGED
SSHD_UNKNOWN=127.0.0.1:$P_UNKNOWN
SSHD_SILENT=127.0.0.1:$P_SILENT
SSHD_REFUSED=127.0.0.1:$P_REFUSED
ENV
mv "$DIR/env.tmp" "$DIR/env"

# After env exists: the watchdog runs while it does.
if [[ -n "${DETEK_TESTENV_WATCH_PID:-}" && ! -f "$DIR/watchdog.pid" ]]; then
    # shellcheck disable=SC2016 # expanded by the inner bash
    setsid bash -c '
        while kill -0 "$1" 2>/dev/null && [[ -f "$2/env" ]]; do sleep 1; done
        [[ -f "$2/env" ]] && exec "$3" "$2" --purge
    ' detek-testenv-sshd-watchdog "$DETEK_TESTENV_WATCH_PID" "$DIR" "$HERE/stop.sh" \
        </dev/null >/dev/null 2>&1 &
    echo $! >"$DIR/watchdog.pid"
fi

log "ready: $(( 4 + $(echo "$NETNS_HOSTS" | wc -w) )) sshd instances ($DIR/env)"
