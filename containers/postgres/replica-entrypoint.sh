#!/usr/bin/env bash
# Entrypoint of a PostgreSQL read replica (official postgres image; also runs outside it).
#
# First start (no cluster in $PGDATA): wait for the primary, clone it with
#   pg_basebackup -X stream -S <slot> -R
# into a staging directory beside $PGDATA, and move that into place only when complete, so a
# task killed mid-clone starts over instead of booting half a copy. Every later start finds the
# cluster and starts it as it is: no new base backup, the slot on the primary kept the WAL the
# replica missed while it was down.
# Then: exec postgres -D $PGDATA "$@" (the service passes the plan's `-c name=value` settings).
#
# Environment (model/replication.ts replicaEntrypointEnv):
#   PGDATA                     data directory (a subdirectory of the mounted volume)
#   PRIMARY_HOST, PRIMARY_PORT the primary as this task reaches it
#   PRIMARY_WAIT_SECONDS       how long a first start waits for the primary (default 240)
#   REPLICATION_USER           the primary's REPLICATION role
#   REPLICATION_SLOT           this task's physical slot on the primary
#   REPLICATION_PASSWORD_FILE  file with the role's password (a Swarm secret)
#   REPLICATION_PASSFILE       where to write the libpq password file (0600, outside PGDATA)
# The password goes from the secret file into the 0600 passfile only: never argv, never env.
# PostgreSQL binaries are taken from PATH.
set -Eeuo pipefail

log() { printf '%s advwell-replica: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

: "${PGDATA:?PGDATA must be set}"
: "${PRIMARY_HOST:?PRIMARY_HOST must name the primary}"
: "${REPLICATION_USER:?REPLICATION_USER must name the replication role}"
: "${REPLICATION_SLOT:?REPLICATION_SLOT must name the slot of this replica}"
: "${REPLICATION_PASSWORD_FILE:?REPLICATION_PASSWORD_FILE must point at the password secret}"
: "${REPLICATION_PASSFILE:?REPLICATION_PASSFILE must say where to write the libpq password file}"
PRIMARY_PORT="${PRIMARY_PORT:-5432}"
PRIMARY_WAIT_SECONDS="${PRIMARY_WAIT_SECONDS:-240}"

# The image's CMD is `postgres`; accept it in front of the -c arguments.
if [ "${1:-}" = postgres ]; then shift; fi

# As root (the image's default user): give postgres the volume, then drop privileges the way the
# official entrypoint does (gosu in the image; runuser from util-linux elsewhere).
if [ "$(id -u)" = 0 ]; then
  data_parent="$(dirname "$PGDATA")"
  mkdir -p "$data_parent" "$(dirname "$REPLICATION_PASSFILE")"
  chown postgres:postgres "$data_parent"
  if [ -d "$PGDATA" ]; then find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +; fi
  pass_dir="$(dirname "$REPLICATION_PASSFILE")"
  [ "$(stat -c %U "$pass_dir")" = postgres ] || chown postgres:postgres "$pass_dir"
  if command -v gosu >/dev/null 2>&1; then exec gosu postgres bash "${BASH_SOURCE[0]}" "$@"; fi
  exec runuser -u postgres -- bash "${BASH_SOURCE[0]}" "$@"
fi

# Values that go into primary_conninfo unquoted: keep them to shapes that need no quoting.
[[ "$PRIMARY_HOST" =~ ^[A-Za-z0-9._-]+$ ]] || die "PRIMARY_HOST '$PRIMARY_HOST' is not a host name or address"
[[ "$PRIMARY_PORT" =~ ^[0-9]+$ ]] || die "PRIMARY_PORT '$PRIMARY_PORT' is not a port"
[[ "$REPLICATION_USER" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "REPLICATION_USER '$REPLICATION_USER' is not a plain role name"
[[ "$REPLICATION_SLOT" =~ ^[a-z0-9_]{1,63}$ ]] || die "REPLICATION_SLOT '$REPLICATION_SLOT' is not a slot name (did Swarm expand {{.Task.Slot}}?)"
[[ "$REPLICATION_PASSFILE" =~ ^[A-Za-z0-9._/-]+$ ]] || die "REPLICATION_PASSFILE '$REPLICATION_PASSFILE' needs quoting; use a plain path"

# Written on every start, so a rotated secret is used from the next start on.
write_passfile() {
  local password escape_host escape_user tmp
  [ -r "$REPLICATION_PASSWORD_FILE" ] || die "cannot read $REPLICATION_PASSWORD_FILE"
  password="$(<"$REPLICATION_PASSWORD_FILE")"
  [ -n "$password" ] || die "$REPLICATION_PASSWORD_FILE is empty"
  # .pgpass fields escape backslash and colon with a backslash.
  password="${password//\\/\\\\}"
  password="${password//:/\\:}"
  escape_host="${PRIMARY_HOST//:/\\:}"
  escape_user="${REPLICATION_USER}"
  tmp="$REPLICATION_PASSFILE.$$"
  (
    umask 077
    printf '%s:%s:*:%s:%s\n' "$escape_host" "$PRIMARY_PORT" "$escape_user" "$password" >"$tmp"
  )
  chmod 0600 "$tmp"
  mv -f "$tmp" "$REPLICATION_PASSFILE"
}

system_identifier() {
  pg_controldata "$1" | sed -n 's/^Database system identifier: *//p'
}

wait_for_primary() {
  local deadline=$((SECONDS + PRIMARY_WAIT_SECONDS))
  # -d postgres: a database that exists, so the primary logs no FATAL for the probe.
  until pg_isready -q -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U "$REPLICATION_USER" -d postgres -t 3; do
    [ "$SECONDS" -lt "$deadline" ] || die "primary $PRIMARY_HOST:$PRIMARY_PORT not ready after ${PRIMARY_WAIT_SECONDS}s"
    log "waiting for primary $PRIMARY_HOST:$PRIMARY_PORT"
    sleep 2
  done
}

bootstrap() {
  if [ -d "$PGDATA" ] && [ -n "$(ls -A "$PGDATA")" ]; then
    die "$PGDATA is not empty but holds no cluster (no PG_VERSION); refusing to overwrite it. Inspect it, then empty it to re-clone"
  fi
  local staging="$PGDATA.basebackup"
  rm -rf "$staging"
  wait_for_primary
  log "no cluster in $PGDATA: cloning $PRIMARY_HOST:$PRIMARY_PORT with pg_basebackup (slot $REPLICATION_SLOT)"
  # --checkpoint=fast: do not wait up to checkpoint_timeout for the primary's next checkpoint.
  pg_basebackup --pgdata="$staging" --host="$PRIMARY_HOST" --port="$PRIMARY_PORT" \
    --username="$REPLICATION_USER" --no-password --wal-method=stream --slot="$REPLICATION_SLOT" \
    --write-recovery-conf --checkpoint=fast
  # -R writes primary_conninfo from the live connection: every libpq default spelt out, and no
  # application_name, so the primary would list each replica as "walreceiver". Replace it with a
  # minimal line that names the task's slot as application_name (pg_stat_replication shows which
  # task is which) and the passfile, and that can never carry a password, whatever libpq puts in
  # PQconninfo. primary_slot_name and standby.signal stay as -R wrote them.
  local auto="$staging/postgresql.auto.conf"
  grep -v '^primary_conninfo' "$auto" >"$auto.new" || true
  printf "primary_conninfo = 'host=%s port=%s user=%s passfile=%s application_name=%s'\n" \
    "$PRIMARY_HOST" "$PRIMARY_PORT" "$REPLICATION_USER" "$REPLICATION_PASSFILE" "$REPLICATION_SLOT" >>"$auto.new"
  mv -f "$auto.new" "$auto"
  chmod 0600 "$auto"
  [ -f "$staging/standby.signal" ] || die "pg_basebackup -R wrote no standby.signal"
  if [ -d "$PGDATA" ]; then rmdir "$PGDATA"; fi
  mv "$staging" "$PGDATA"
  log "base backup complete: system identifier $(system_identifier "$PGDATA"), slot $REPLICATION_SLOT"
}

write_passfile
export PGPASSFILE="$REPLICATION_PASSFILE"

if [ -s "$PGDATA/PG_VERSION" ]; then
  log "existing cluster in $PGDATA (system identifier $(system_identifier "$PGDATA")): skipping pg_basebackup"
  [ -f "$PGDATA/standby.signal" ] || log "warning: $PGDATA has no standby.signal, so it starts as a primary (was it promoted?)"
else
  bootstrap
fi

log "starting postgres as a hot standby"
exec postgres -D "$PGDATA" "$@"
