#!/usr/bin/env bash
# AdvWell's role reconciler: makes PostgreSQL's roles, ownership and replication slots what the
# plan says, on every deploy and every few minutes after, whatever state the cluster was in
# (a fresh initdb, the seed's existing `advtom` cluster taken over, a rotated password).
#
#   reconcile.sh          the postgres-reconcile service's command: reconcile, then again every
#                         RECONCILE_INTERVAL_SECONDS; a failure is retried and never exits the loop
#   reconcile.sh once     reconcile once and exit 0, or 1 with the reason
#   reconcile.sh health   the service's healthcheck: 0 when the last reconcile succeeded recently
#
# It runs as its own Swarm service (postgres-reconcile), not inside the database's container: a
# rotated password changes this service and the clients, never the database's spec, so rotation
# does not restart PostgreSQL. It reaches the primary over the data network as the superuser.
#
# Inputs (model/plan: the postgres-reconcile service's env), passwords as files (Swarm secrets):
#   PGHOST PGPORT                       the primary
#   SUPERUSER SUPERUSER_PASSWORD_FILE   who it logs in as
#   APP_DB_NAME APP_DB_USER APP_DB_PASSWORD_FILE
#                                       the application database, and the role that owns it and
#                                       everything in its public schema
#   MONITORING_ROLE MONITORING_ROLE_CONNECTION_LIMIT MONITORING_PASSWORD_FILE
#                                       optional: the read-only role postgres-exporter uses
#   REPLICATION_USER REPLICATION_PASSWORD_FILE REPLICATION_SLOTS
#                                       optional: the streaming replicas' role and slots
#   RECONCILE_INTERVAL_SECONDS          default 300
#   RECONCILE_STATE_DIR                 default /tmp/advwell-reconcile (the health marker)
#
# Passwords reach the server only inside SQL text, which psql reads from the secret files itself
# (a backquote in \set), so no password is in any argv or environment; each session turns
# statement logging off first. The superuser's password goes into a 0600 libpq password file.

if [ -n "${BASH_VERSION:-}" ]; then set -euo pipefail; fi

INTERVAL="${RECONCILE_INTERVAL_SECONDS:-300}"
STATE_DIR="${RECONCILE_STATE_DIR:-/tmp/advwell-reconcile}"
log() { printf 'advwell-reconcile: %s\n' "$*" >&2; }

ident() { [[ "$2" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || { log "$1 \"$2\" is not a lower-case PostgreSQL identifier"; return 1; }; }
readable() { [ -r "$2" ] && [ -s "$2" ] || { log "$1: cannot read $2, or it is empty"; return 1; }; [[ "$2" != *"'"* ]] || { log "$1: quotes in the path"; return 1; }; }

check_inputs() {
  : "${PGHOST:?}" "${PGPORT:?}" "${SUPERUSER:?}" "${SUPERUSER_PASSWORD_FILE:?}" "${APP_DB_NAME:?}" "${APP_DB_USER:?}" "${APP_DB_PASSWORD_FILE:?}"
  ident SUPERUSER "$SUPERUSER" && ident APP_DB_NAME "$APP_DB_NAME" && ident APP_DB_USER "$APP_DB_USER" || return 1
  [ "$APP_DB_USER" != "$SUPERUSER" ] || { log "APP_DB_USER must not be the superuser"; return 1; }
  readable SUPERUSER_PASSWORD_FILE "$SUPERUSER_PASSWORD_FILE" && readable APP_DB_PASSWORD_FILE "$APP_DB_PASSWORD_FILE" || return 1
  if [ -n "${MONITORING_ROLE:-}" ]; then
    ident MONITORING_ROLE "$MONITORING_ROLE" && readable MONITORING_PASSWORD_FILE "${MONITORING_PASSWORD_FILE:-}" || return 1
    [[ "${MONITORING_ROLE_CONNECTION_LIMIT:-}" =~ ^[0-9]{1,4}$ ]] || { log "MONITORING_ROLE_CONNECTION_LIMIT is not a number"; return 1; }
  fi
  if [ -n "${REPLICATION_USER:-}" ]; then
    ident REPLICATION_USER "$REPLICATION_USER" && readable REPLICATION_PASSWORD_FILE "${REPLICATION_PASSWORD_FILE:-}" || return 1
    for slot in ${REPLICATION_SLOTS:-}; do [[ "$slot" =~ ^[a-z0-9_]{1,63}$ ]] || { log "bad slot name \"$slot\""; return 1; }; done
  fi
}

# libpq reads the superuser's password from a 0600 file (':' and '\' escaped as .pgpass wants).
write_passfile() {
  PGPASSFILE="$(mktemp)"
  chmod 600 "$PGPASSFILE"
  local password
  password="$(cat "$SUPERUSER_PASSWORD_FILE")"
  password="${password//\\/\\\\}"
  printf '*:*:*:%s:%s\n' "$SUPERUSER" "${password//:/\\:}" >"$PGPASSFILE"
  export PGPASSFILE
}

psql_as_superuser() {
  psql -X -q -v ON_ERROR_STOP=1 --no-password --username "$SUPERUSER" --set=VERBOSITY=terse "$@"
}

# Everything the plan says, in one idempotent pass. Returns non-zero, with psql's terse error on
# stderr, when anything fails; nothing here can print a password.
reconcile_once() {
  check_inputs || return 1
  write_passfile
  trap 'rm -f "$PGPASSFILE"' RETURN
  pg_isready -q -h "$PGHOST" -p "$PGPORT" -U "$SUPERUSER" -d postgres -t 5 || { log "PostgreSQL at $PGHOST:$PGPORT is not accepting connections yet"; return 1; }

  psql_as_superuser --dbname postgres \
    --set=db="$APP_DB_NAME" --set=app="$APP_DB_USER" \
    --set=monitor="${MONITORING_ROLE:-}" --set=monitor_limit="${MONITORING_ROLE_CONNECTION_LIMIT:-3}" \
    --set=replicator="${REPLICATION_USER:-}" --set=slots="${REPLICATION_SLOTS:-}" <<SQL
SET client_min_messages = warning;
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_error_statement = 'panic';
-- The application database (the official image creates POSTGRES_DB; an adopted cluster has it).
SELECT format('CREATE DATABASE %I', :'db') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
-- The application role: its password from the secret, no privileges beyond its own objects.
\set password \`cat '$APP_DB_PASSWORD_FILE'\`
SELECT format('CREATE ROLE %I LOGIN', :'app') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L', :'app', :'password') \gexec
\unset password
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'app') \gexec
-- The read-only monitoring role, when monitoring runs.
SELECT :'monitor' <> '' AS with_monitor \gset
\if :with_monitor
\set password \`cat '${MONITORING_PASSWORD_FILE:-/dev/null}'\`
SELECT format('CREATE ROLE %I LOGIN', :'monitor') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'monitor') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT %s PASSWORD %L', :'monitor', :'monitor_limit', :'password') \gexec
\unset password
SELECT format('ALTER ROLE %I SET default_transaction_read_only = on', :'monitor') \gexec
SELECT format('ALTER ROLE %I SET statement_timeout = %L', :'monitor', '10s') \gexec
SELECT format('GRANT pg_monitor TO %I', :'monitor') \gexec
\endif
-- The replicas' role and one physical slot per replica task, on tiers that have replicas. WAL is
-- reserved from creation: pg_basebackup -S streams from the backup's start LSN.
SELECT :'replicator' <> '' AS with_replication \gset
\if :with_replication
\set password \`cat '${REPLICATION_PASSWORD_FILE:-/dev/null}'\`
SELECT format('CREATE ROLE %I LOGIN REPLICATION', :'replicator') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'replicator') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'replicator', :'password') \gexec
\unset password
SELECT count(pg_create_physical_replication_slot(slot, true)) AS slots_created
  FROM unnest(string_to_array(:'slots', ' ')) AS slot
 WHERE slot <> '' AND NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = slot) \gset
\endif
SQL

  # Inside the application database: the public schema and every object in it belong to the app
  # role (an adopted cluster's tables were created by the superuser). Sequences owned by a table
  # column follow their table; ALTER on them directly is refused.
  psql_as_superuser --dbname "$APP_DB_NAME" --set=app="$APP_DB_USER" <<'SQL'
SET client_min_messages = warning;
SET log_statement = 'none';
SELECT format('ALTER SCHEMA public OWNER TO %I', :'app') \gexec
SELECT format('ALTER %s %s OWNER TO %I',
              CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'TABLE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' END,
              c.oid::regclass, :'app')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
   AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = :'app')
   AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY c.relkind DESC, c.oid \gexec
SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, :'app')
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'public' AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = :'app')
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') \gexec
SELECT format('ALTER TYPE %s OWNER TO %I', t.oid::regtype, :'app')
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r') AND t.typowner <> (SELECT oid FROM pg_roles WHERE rolname = :'app')
   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e') \gexec
SQL
}

mark_success() {
  mkdir -p "$STATE_DIR"
  date -u +%s >"$STATE_DIR/last-success"
}

health() {
  local at now
  at="$(cat "$STATE_DIR/last-success" 2>/dev/null || true)"
  now="$(date -u +%s)"
  if [ -n "$at" ] && [ $((now - at)) -le $((INTERVAL * 3)) ]; then
    echo "healthy: roles reconciled $((now - at)) s ago"
    return 0
  fi
  echo "unhealthy: no successful reconcile in the last $((INTERVAL * 3)) s; see the service log"
  return 1
}

# Sleeps are waited on in the background so SIGTERM (docker stop) ends the loop at once.
loop() {
  trap 'log "stopping"; exit 0' TERM INT
  local delay=2 reported=""
  while true; do
    local started="$SECONDS"
    if ( reconcile_once ); then
      mark_success
      [ -n "$reported" ] || log "roles, ownership and slots reconciled in $((SECONDS - started)) s; again every ${INTERVAL} s"
      reported=1
      delay="$INTERVAL"
    else
      log "reconcile failed; retrying in ${delay} s"
      reported=""
      delay=$(( delay < 30 ? delay * 2 : 30 ))
    fi
    sleep "$delay" &
    wait $! || true
  done
}

case "${1:-loop}" in
  loop) loop ;;
  once) if ( reconcile_once ); then mark_success; log "reconciled"; else exit 1; fi ;;
  health) health ;;
  *) log "usage: reconcile.sh [loop|once|health]"; exit 2 ;;
esac
