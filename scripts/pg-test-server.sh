#!/bin/bash
# Starts or stops a throw-away PostgreSQL server for the tests.
#   pg-test-server.sh start STATE_DIR   initdb in a fresh /tmp directory, listen on a unix socket
#                                       only, write the libpq URL to STATE_DIR/url
#   pg-test-server.sh stop STATE_DIR    stop it and delete its data
# As root the server runs as the 'postgres' user (initdb refuses root).
set -euo pipefail
cmd=${1:?start|stop}
state=${2:?state directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "pg-test-server: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
  exit 1
fi
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
  start)
    "$0" stop "$state" >/dev/null 2>&1 || true
    mkdir -p "$state"
    data=$(mktemp -d /tmp/mamori-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres "$data"
    echo "$data" > "$state/datadir"
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    as_pg "$bin/initdb" -D "$data/db" -A trust -U postgres -E UTF8 --no-sync >"$data/initdb.log" 2>&1 \
      || { cat "$data/initdb.log" >&2; exit 1; }
    as_pg "$bin/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 60 \
      -o "-k $data -c listen_addresses='' -p $port -c fsync=off -c max_connections=50" start >/dev/null \
      || { cat "$data/server.log" >&2; exit 1; }
    echo "postgresql:///postgres?host=$data&port=$port&user=postgres" > "$state/url"
    # A role that must authenticate (SCRAM) for the tests of credentials kept out of the
    # command line (PGPASSFILE, PGPASSWORD, MAMORI_STORE); everything else stays trust.
    as_pg "$bin/psql" -h "$data" -p "$port" -U postgres -d postgres -qc \
      "CREATE ROLE mamori_pw LOGIN CREATEDB PASSWORD 'mamori-test-pw'" >/dev/null
    sed -i '1i local all mamori_pw scram-sha-256' "$data/db/pg_hba.conf"
    as_pg "$bin/pg_ctl" -D "$data/db" reload >/dev/null
    echo "postgresql:///postgres?host=$data&port=$port&user=mamori_pw" > "$state/url_password_role"
    echo "PostgreSQL test server at $data (port $port)"
    ;;
  stop)
    [ -f "$state/datadir" ] || exit 0
    data=$(cat "$state/datadir")
    if [ -d "$data/db" ]; then as_pg "$bin/pg_ctl" -D "$data/db" -m fast -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$data" "$state/datadir" "$state/url" "$state/url_password_role"
    ;;
  *) echo "usage: $0 start|stop STATE_DIR" >&2; exit 2 ;;
esac
