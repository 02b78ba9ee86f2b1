# Stopping the processes a testenv start script recorded in DIR/NAME.pid; sourced by
# testenv/stop.sh and testenv/openstack/stop.sh, which set DIR and LABEL first.
#
# Only processes whose command line refers to DIR are signalled (guards against reused pids).

ours() {
    local pid="$1"
    [[ "$pid" =~ ^[0-9]+$ && "$pid" != "$$" ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$DIR"
}

# A zombie (exited, not yet reaped by its parent) counts as stopped.
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    [[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]]
}

# SIGTERM to DIR/NAME.pid's process, SIGKILL after 10 s; the pid file is removed.
stop_name() {
    local name="$1" pidfile="$DIR/$1.pid" pid
    [[ -f "$pidfile" ]] || return 0
    pid="$(cat "$pidfile")"
    rm -f "$pidfile"
    ours "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        alive "$pid" || { echo "$LABEL: stopped $name ($pid)" >&2; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    echo "$LABEL: killed $name ($pid)" >&2
}
