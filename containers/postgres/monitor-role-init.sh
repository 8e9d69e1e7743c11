#!/bin/bash
# Creates or updates the read-only role postgres-exporter logs in as. Idempotent. Mounted into
# /docker-entrypoint-initdb.d/ (the official image runs it on an empty PGDATA); its inputs come
# from the postgres service's environment, the password from a Swarm secret file:
#   MONITORING_ROLE                  role name (a lower-case identifier)
#   MONITORING_ROLE_CONNECTION_LIMIT at most this many connections, so a leaked password cannot eat the budget
#   MONITORING_PASSWORD_FILE         file holding the role's password
# pg_monitor grants the statistics views and settings; default_transaction_read_only keeps a
# leaked password from writing.
set -euo pipefail
: "${MONITORING_ROLE:?}" "${MONITORING_ROLE_CONNECTION_LIMIT:?}" "${MONITORING_PASSWORD_FILE:?}"
[[ "$MONITORING_ROLE" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || { echo "monitor-role-init: MONITORING_ROLE \"$MONITORING_ROLE\" is not a lower-case PostgreSQL identifier" >&2; exit 1; }
[[ "$MONITORING_ROLE_CONNECTION_LIMIT" =~ ^[0-9]{1,4}$ ]] || { echo "monitor-role-init: MONITORING_ROLE_CONNECTION_LIMIT is not a number" >&2; exit 1; }
monitoring_password="$(cat "$MONITORING_PASSWORD_FILE")"
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  --set=role="$MONITORING_ROLE" --set=connection_limit="$MONITORING_ROLE_CONNECTION_LIMIT" \
  --set=monitoring_password="$monitoring_password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT :connection_limit PASSWORD :'monitoring_password';
ALTER ROLE :"role" SET default_transaction_read_only = on;
ALTER ROLE :"role" SET statement_timeout = '10s';
GRANT pg_monitor TO :"role";
SQL
