#!/usr/bin/env bash
# Restore drill: restores a backup (latest, or KEY) into a scratch database next to the source,
# then compares every table's row count and content checksum with the source database.
#
#   restore-drill.sh [KEY]      exit 0 when every table matches; prints the restore time
#
# Same environment as backup.sh; the role needs CREATEDB (the backup runs as the superuser).
# DRILL_KEEP=1 keeps the scratch database for inspection. Run it right after a backup, or against
# a quiet database: rows written since the backup show up as differences, which is the point.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ADVWELL_BACKUP_LIB=1 . "$HERE/backup.sh"

# One line per table: schema.table|rows|md5 of all rows in a collation-independent order.
table_fingerprints() { # database
  local tables t sql=""
  tables=$(psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "select format('%I.%I', table_schema, table_name) from information_schema.tables where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema') order by 1")
  for t in $tables; do
    sql="${sql}select '$t' || '|' || count(*) || '|' || md5(coalesce(string_agg(r::text, E'\\n' order by r::text collate \"C\"), '')) from $t r;"
  done
  [ -z "$sql" ] || psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "$sql"
}

drill_main() {
  local source scratch started_ms restore_seconds status=0 src dst
  load_credentials
  source=$PGDATABASE
  scratch="${source:0:40}_drill_$(date -u +%Y%m%d%H%M%S)"
  psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "create database \"$scratch\"" >/dev/null
  [ "${DRILL_KEEP:-0}" = 1 ] || trap 'psql -X -q -d postgres -c "drop database if exists \"'"$scratch"'\"" >/dev/null 2>&1 || true' EXIT

  started_ms=$(now_ms)
  RESTORE_DATABASE=$scratch bash "$HERE/restore.sh" "$@"
  restore_seconds=$(seconds_since "$started_ms")

  src=$(table_fingerprints "$source")
  dst=$(table_fingerprints "$scratch")
  while IFS='|' read -r table rows sum; do
    [ -n "$table" ] || continue
    other=$(printf '%s\n' "$dst" | grep -F "$table|" | head -n 1 || true)
    if [ "$other" = "$table|$rows|$sum" ]; then
      log "advwell-drill: match $table rows=$rows md5=$sum"
    else
      log "advwell-drill: DIFFERS $table source rows=$rows md5=$sum restored=${other:-missing}"
      status=1
    fi
  done <<<"$src"
  if [ "$(printf '%s\n' "$src" | grep -c .)" != "$(printf '%s\n' "$dst" | grep -c .)" ]; then
    log "advwell-drill: DIFFERS table count source=$(printf '%s\n' "$src" | grep -c .) restored=$(printf '%s\n' "$dst" | grep -c .)"
    status=1
  fi
  if [ $status -eq 0 ]; then
    log "advwell-drill: ok tables=$(printf '%s\n' "$src" | grep -c .) restore_seconds=$restore_seconds database=$scratch"
  else
    err "advwell-drill: FAILED restore_seconds=$restore_seconds: the restored database differs from $source"
  fi
  return $status
}

drill_main "$@"
