#!/usr/bin/env bash
# Restore drill: restores a backup (latest, or KEY) into a scratch database next to the source,
# then compares every table's row count and content checksum with the source database.
#
#   restore-drill.sh [KEY]      exit 0 when every table matches; prints the restore time
#
# Same environment as backup.sh (its role, the superuser, only prepares: restore.sh restores and
# this script reads tables as a temporary non-superuser role); RESTORE_OWNER as in restore.sh.
# DRILL_KEEP=1 keeps the scratch database for inspection. Run it right after a backup, or against
# a quiet database: rows written since the backup show up as differences, which is the point.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ADVWELL_RESTORE_LIB=1 . "$HERE/restore.sh"

# One line per table: schema.table|rows|md5 of all rows in a collation-independent order.
# It reads the app's tables, so it runs as restore.sh's temporary role (a member of the owner
# role, never a superuser: whatever a table's column types or policies call runs without
# privileges the app role lacks), with search_path pinned to pg_catalog; every name is quoted by
# the server (format %I for identifiers, %L for the label), so a table named with a quote and a
# payload is only a name (issue 22). Functions and operators are pg_catalog-qualified.
table_fingerprints() { # database
  as_restore_role psql -X -At -v ON_ERROR_STOP=1 --set=VERBOSITY=terse -d "$1" <<'SQL'
SELECT pg_catalog.format('SELECT %L OPERATOR(pg_catalog.||) ''|'' OPERATOR(pg_catalog.||) pg_catalog.count(*) OPERATOR(pg_catalog.||) ''|'' OPERATOR(pg_catalog.||) '
                         'pg_catalog.md5(COALESCE(pg_catalog.string_agg(r::pg_catalog.text, E''\n'' ORDER BY r::pg_catalog.text COLLATE pg_catalog."C"), '''')) FROM %I.%I r',
                         pg_catalog.format('%I.%I', n.nspname, c.relname), n.nspname, c.relname)
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
 WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}'::pg_catalog."char"[])
   AND n.nspname OPERATOR(pg_catalog.<>) 'information_schema' AND NOT n.nspname OPERATOR(pg_catalog.~~) 'pg\_%'
 ORDER BY n.nspname COLLATE pg_catalog."C", c.relname COLLATE pg_catalog."C" \gexec
SQL
}

drill_cleanup() {
  drop_restore_role "$scratch" || true
  if [ "${DRILL_KEEP:-0}" != 1 ]; then
    psql_admin --set=db="$scratch" >/dev/null 2>&1 <<'SQL' || true
SELECT pg_catalog.format('DROP DATABASE IF EXISTS %I', :'db') \gexec
SQL
  fi
  [ -z "$WORK" ] || rm -rf "$WORK"
}

drill_main() {
  local source started_ms restore_seconds status=0 src dst
  load_credentials
  source=$PGDATABASE
  scratch="${source:0:40}_drill_$(date -u +%Y%m%d%H%M%S)"
  WORK=""
  RESTORE_ROLE=""
  trap drill_cleanup EXIT
  make_work_dir
  resolve_owner || { err "advwell-drill: FAILED: no owner role for the restore"; return 1; }
  restore_role_secret "$WORK" || { err "advwell-drill: FAILED: cannot make the temporary role's password"; return 1; }

  started_ms=$(now_ms)
  RESTORE_DATABASE=$scratch RESTORE_OWNER=$RESTORE_OWNER bash "$HERE/restore.sh" "$@"
  restore_seconds=$(seconds_since "$started_ms")
  create_restore_role "$WORK"

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
