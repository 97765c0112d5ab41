#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster for the test suite; source this file.
#
# Installs the Debian `postgresql` package when no server is present (CI runs as root on a clean
# Debian machine), creates a cluster under a temp dir that listens only on a Unix socket inside
# that dir (no port to collide with), and exports INSIGHTS_TEST_DATABASE_URL pointing at it.
# `stop_test_postgres` stops the cluster and removes the dir; the caller traps it on EXIT.

pg_bindir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start_test_postgres() {
    local bindir
    bindir="$(pg_bindir)"
    if [ -z "$bindir" ]; then
        echo "--- installing PostgreSQL (Debian package)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq postgresql >/dev/null
        bindir="$(pg_bindir)"
    fi
    TEST_PG_DIR="$(mktemp -d /tmp/insights-pg.XXXXXX)"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$TEST_PG_DIR"
    fi
    as_postgres "$bindir/initdb" -D "$TEST_PG_DIR/data" -U postgres --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >"$TEST_PG_DIR/initdb.log"
    as_postgres "$bindir/pg_ctl" -D "$TEST_PG_DIR/data" -l "$TEST_PG_DIR/server.log" -w \
        -o "-c listen_addresses='' -k $TEST_PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null
    export TEST_PG_DIR TEST_PG_BINDIR="$bindir"
    export INSIGHTS_TEST_DATABASE_URL="postgresql+asyncpg://postgres@/postgres?host=$TEST_PG_DIR"
    echo "--- PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on socket $TEST_PG_DIR"
}

stop_test_postgres() {
    if [ -n "${TEST_PG_DIR:-}" ] && [ -d "$TEST_PG_DIR/data" ]; then
        as_postgres "$TEST_PG_BINDIR/pg_ctl" -D "$TEST_PG_DIR/data" -m fast stop >/dev/null || true
        rm -rf "$TEST_PG_DIR"
    fi
}
