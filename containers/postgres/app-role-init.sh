#!/bin/bash
# Creates the application role and gives it the application database and its public schema.
# Mounted into /docker-entrypoint-initdb.d/ (the official image runs it once, on an empty PGDATA);
# inputs from the postgres service's environment, the password from a Swarm secret file:
#   APP_DB_USER            the application role (a lower-case identifier)
#   APP_DB_PASSWORD_FILE   file holding its password
#   POSTGRES_DB            the application database (set for the official image anyway)
set -euo pipefail
: "${APP_DB_USER:?}" "${APP_DB_PASSWORD_FILE:?}" "${POSTGRES_DB:?}"
app_password="$(cat "$APP_DB_PASSWORD_FILE")"
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "$POSTGRES_DB" \
  --set=app_user="$APP_DB_USER" --set=app_password="$app_password" --set=app_db="$POSTGRES_DB" <<'SQL'
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';
ALTER DATABASE :"app_db" OWNER TO :"app_user";
ALTER SCHEMA public OWNER TO :"app_user";
SQL
