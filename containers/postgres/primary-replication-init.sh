#!/usr/bin/env bash
# Prepares the PostgreSQL primary for streaming replicas: the REPLICATION role (password from a
# Swarm secret file), one physical slot per replica task, and the pg_hba line that admits them.
#
# Mounted (mode 0555) into /docker-entrypoint-initdb.d/ of the official postgres image, which
# runs it once, as postgres, on a fresh data directory, against its socket-only temporary server.
# It is idempotent, so on a primary whose data directory predates the replica (a stack moved up
# to the enterprise tier) an operator runs the same file once by hand:
#   docker exec -u postgres <primary container> /docker-entrypoint-initdb.d/50-advwell-replication.sh
# Re-running also re-applies the password from the secret file (rotation).
#
# Inputs, from the primary service's environment (model/replication.ts primaryReplicationEnv), so a
# run by hand with `docker exec` sees exactly what the entrypoint saw:
#   REPLICATION_USER           role name, e.g. replicator
#   REPLICATION_PASSWORD_FILE  file holding its password (never in env or argv)
#   REPLICATION_SLOTS          space-separated physical slot names, e.g. "replica_1"
#   REPLICATION_HBA_LINES      newline-separated pg_hba.conf lines to ensure
# Connection: libpq's PGHOST/PGPORT/PGPASSWORD as set by the image's entrypoint (or a test),
# as POSTGRES_USER (default postgres) to the postgres database.

# The image *sources* non-executable init files; a subshell body keeps `set -u`, variables and
# any exit inside this script from leaking into its entrypoint in that case.
advwell_replication_init() (
  set -Eeuo pipefail
  log() { printf 'advwell-replication-init: %s\n' "$*" >&2; }

  : "${REPLICATION_USER:?REPLICATION_USER must name the replication role}"
  : "${REPLICATION_PASSWORD_FILE:?REPLICATION_PASSWORD_FILE must point at the password secret}"
  : "${REPLICATION_SLOTS:?REPLICATION_SLOTS must list at least one slot name}"
  : "${REPLICATION_HBA_LINES:?REPLICATION_HBA_LINES must hold the pg_hba line(s)}"

  # Identifiers go into SQL through psql variables (:'name' quotes them), but a sane shape
  # also keeps the pg_hba line and the logs unambiguous.
  [[ "$REPLICATION_USER" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || { log "bad REPLICATION_USER '$REPLICATION_USER'"; exit 1; }
  # The role is made NOSUPERUSER below; never let that hit the bootstrap superuser.
  [ "$REPLICATION_USER" != "${POSTGRES_USER:-postgres}" ] || { log "REPLICATION_USER must not be the superuser"; exit 1; }
  for slot in $REPLICATION_SLOTS; do
    [[ "$slot" =~ ^[a-z0-9_]{1,63}$ ]] || { log "bad slot name '$slot' (lower case letters, digits, _)"; exit 1; }
  done
  [ -r "$REPLICATION_PASSWORD_FILE" ] || { log "cannot read $REPLICATION_PASSWORD_FILE"; exit 1; }
  [ -s "$REPLICATION_PASSWORD_FILE" ] || { log "$REPLICATION_PASSWORD_FILE is empty"; exit 1; }
  [[ "$REPLICATION_PASSWORD_FILE" != *"'"* && "$REPLICATION_PASSWORD_FILE" != *'`'* ]] || { log "quotes in REPLICATION_PASSWORD_FILE"; exit 1; }

  psql_admin() {
    psql -X -q -v ON_ERROR_STOP=1 --no-password --username "${POSTGRES_USER:-postgres}" --dbname postgres "$@"
  }

  # The password reaches the server inside the SQL text only: psql reads the file itself
  # (backquote in \set), so it is in no argv and no environment. The session turns statement
  # logging off, and terse errors keep the statement out of this script's own output.
  psql_admin --set=user="$REPLICATION_USER" --set=slots="$REPLICATION_SLOTS" <<SQL
\set VERBOSITY terse
SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET log_min_error_statement = 'panic';
\set password \`cat '$REPLICATION_PASSWORD_FILE'\`
SELECT format('CREATE ROLE %I WITH LOGIN REPLICATION', :'user')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'user', :'password') \gexec
\unset password
-- Reserve WAL from creation: pg_basebackup -S starts streaming from the start LSN of the backup,
-- which must still exist when it connects.
SELECT pg_create_physical_replication_slot(slot, true)
  FROM unnest(string_to_array(:'slots', ' ')) AS slot
 WHERE slot <> '' AND NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = slot);
SQL

  hba_file="$(psql_admin -At -c 'SHOW hba_file')"
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    if grep -qxF -- "$line" "$hba_file"; then
      log "pg_hba already has: $line"
    else
      printf '%s\n' "$line" >>"$hba_file"
      log "pg_hba += $line"
    fi
  done <<<"$REPLICATION_HBA_LINES"
  # pg_hba_file_rules parses the file as the server would: refuse to leave a line it rejects.
  bad="$(psql_admin -At -c "SELECT line_number || ': ' || error FROM pg_hba_file_rules WHERE error IS NOT NULL")"
  [ -z "$bad" ] || { log "pg_hba.conf has errors: $bad"; exit 1; }
  psql_admin -At -c 'SELECT pg_reload_conf()' >/dev/null

  log "role $REPLICATION_USER, slot(s) $REPLICATION_SLOTS and pg_hba ready"
)

advwell_replication_init
