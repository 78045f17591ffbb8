#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL server for the test suite.
#
#   tools/test-postgres.sh .venv/bin/pytest -q -n auto
#
# Starts a fresh cluster (initdb) in a temporary folder, listening only on 127.0.0.1 at a free
# port, exports PEDBONE_TEST_POSTGRES_URL for the command, and removes the cluster afterwards.
# As root the server runs as the `postgres` user (initdb refuses to run as root).
# If PEDBONE_TEST_POSTGRES_URL is already set, that server is used and nothing is started.
# Without PostgreSQL (Debian package `postgresql`) the command still runs and the PostgreSQL
# tests skip loudly; with CI=true a missing PostgreSQL is an error.
set -euo pipefail

if [ $# -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi

is_ci() { case "${CI:-}" in true | TRUE | True | 1 | yes) return 0 ;; *) return 1 ;; esac; }

if [ -n "${PEDBONE_TEST_POSTGRES_URL:-}" ]; then
    exec "$@"
fi

bindir=""
for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then
        bindir="$candidate"
        break
    fi
done
if [ -z "$bindir" ] && command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    bindir="$(dirname "$(command -v initdb)")"
fi
if [ -z "$bindir" ]; then
    msg="PostgreSQL server programs (initdb, pg_ctl) not found; install the Debian package 'postgresql'"
    if is_ci; then
        echo "error: $msg (CI=true: the PostgreSQL tests must run)" >&2
        exit 1
    fi
    echo "WARNING: $msg — PostgreSQL tests will be SKIPPED" >&2
    exec "$@"
fi

as_server_user=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "error: running as root but there is no 'postgres' user to run the server" >&2
        exit 1
    fi
    if command -v runuser >/dev/null 2>&1; then
        as_server_user=(runuser -u postgres --)
    else
        as_server_user=(su postgres -s /bin/sh -c '"$0" "$@"')
    fi
fi

tmp_root="${TMPDIR:-/tmp}"
# as root the server runs as `postgres`, which must be able to reach the folder: use /tmp
if [ "$(id -u)" -eq 0 ]; then tmp_root=/tmp; fi
workdir="$(mktemp -d "$tmp_root/pedbone-pg.XXXXXX")"
chmod 755 "$workdir"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$workdir"; fi

cleanup() {
    "${as_server_user[@]}" "$bindir/pg_ctl" -D "$workdir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$workdir"
}
trap cleanup EXIT INT TERM

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

"${as_server_user[@]}" "$bindir/initdb" -D "$workdir/data" -U postgres --auth=trust \
    --encoding=UTF8 --no-locale >"$workdir/initdb.log" 2>&1 || {
    cat "$workdir/initdb.log" >&2
    exit 1
}
"${as_server_user[@]}" "$bindir/pg_ctl" -D "$workdir/data" -l "$workdir/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $port -k $workdir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || {
    cat "$workdir/server.log" >&2
    exit 1
}

export PEDBONE_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
echo "test PostgreSQL ($("$bindir/postgres" --version)) at $PEDBONE_TEST_POSTGRES_URL" >&2
set +e
"$@"
status=$?
set -e
exit $status
