#!/usr/bin/env bash
# Private PostgreSQL cluster for development, the demo and the tests.
#
#   scripts/pg.sh start    initdb (once) and start; prints DATABASE_URL=... on stdout
#   scripts/pg.sh url      print the DATABASE_URL of the running cluster
#   scripts/pg.sh status   exit 0 when running
#   scripts/pg.sh stop     fast shutdown
#
# The cluster lives in .dev/pg/ inside the checkout (override with BKLB_PG_DIR), listens on
# 127.0.0.1 only, on a free port chosen once and remembered, with trust auth for one superuser.
# It never touches any other cluster on the machine. Running `start` twice is harmless.
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` system user.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

pg_user=bklb
dir=${BKLB_PG_DIR:-$root/.dev/pg}

find_bindir() {
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
        return
    fi
    local newest
    newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$newest" ] && [ -x "$newest/initdb" ]; then
        echo "$newest"
    fi
}

bindir=$(find_bindir)
if [ -z "$bindir" ]; then
    log "no PostgreSQL server binaries found: installing Debian's postgresql package"
    apt_install postgresql
    bindir=$(find_bindir)
    [ -n "$bindir" ] || die "postgresql installed but initdb not found"
fi

# As root, run the server as `postgres`; it must be able to reach the data directory.
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    as_owner=(runuser -u postgres --)
    mkdir -p "$dir"
    if ! runuser -u postgres -- test -x "$dir"; then
        # The checkout sits below a directory `postgres` cannot enter (e.g. /root): keep the
        # cluster in a per-checkout directory under /var/tmp instead.
        dir=/var/tmp/bklb-pg-$(printf '%s' "$root" | cksum | cut -d' ' -f1)
        mkdir -p "$dir"
    fi
    chown postgres: "$dir"
fi

data=$dir/data
portfile=$dir/port
pgctl() { "${as_owner[@]}" "$bindir/pg_ctl" -D "$data" "$@"; }

url() { echo "postgres://$pg_user@127.0.0.1:$(cat "$portfile")/$pg_user"; }

running() { [ -f "$data/PG_VERSION" ] && pgctl status >/dev/null 2>&1; }

start() {
    mkdir -p "$dir"
    if [ ! -f "$data/PG_VERSION" ]; then
        log "initdb into $data"
        "${as_owner[@]}" "$bindir/initdb" -D "$data" -U "$pg_user" --auth=trust --encoding=UTF8 \
            --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    fi
    if running; then
        log "postgres already running on port $(cat "$portfile")"
        echo "DATABASE_URL=$(url)"
        return
    fi
    [ -f "$portfile" ] || free_port 55432 >"$portfile"
    local port
    port=$(cat "$portfile")
    if port_in_use "$port"; then
        port=$(free_port $((port + 1)))
        echo "$port" >"$portfile"
    fi
    # A test suite opens many databases at once: allow plenty of connections.
    local opts="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='' \
-c max_connections=500 -c synchronous_commit=off ${BKLB_PG_EXTRA_OPTS:-} \
-c shared_buffers=256MB"
    [ -n "${as_owner[*]}" ] && chown postgres: "$dir" && touch "$dir/server.log" && chown postgres: "$dir/server.log"
    pgctl -l "$dir/server.log" -o "$opts" -w -t 60 start >/dev/null ||
        { tail -n 20 "$dir/server.log" >&2; die "postgres failed to start"; }
    log "postgres started on 127.0.0.1:$port (data in $data)"
    "$bindir/psql" -h 127.0.0.1 -p "$port" -U "$pg_user" -d postgres -Atqc \
        "select 1 from pg_database where datname = '$pg_user'" | grep -q 1 ||
        "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$pg_user" "$pg_user"
    echo "DATABASE_URL=$(url)"
}

stop() {
    if running; then
        pgctl -m fast -w stop >/dev/null
        log "postgres stopped"
    else
        log "postgres not running"
    fi
}

case "${1:-}" in
start) start ;;
stop) stop ;;
url) running || die "postgres is not running: scripts/pg.sh start"; url ;;
status) running ;;
*) die "usage: scripts/pg.sh start|stop|url|status" ;;
esac
