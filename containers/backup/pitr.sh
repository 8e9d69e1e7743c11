#!/usr/bin/env bash
# Point-in-time recovery with pgBackRest (model/backup/pitr.ts decides every setting). Runs in the
# backup service, whose image is the PostgreSQL+pgBackRest image (containers/pitr/Dockerfile), on
# the primary's node with its data volume mounted read-only and its socket directory shared.
#
#   pitr.sh init                       create the stanza if the bucket has none yet (idempotent)
#   pitr.sh full                       one full base backup now (then pgBackRest's expire)
#   pitr.sh list                       restore points: base backups, the archived WAL range, the dumps
#   pitr.sh restore latest DIR         restore into DIR, a new empty directory: every archived commit
#   pitr.sh restore 'TIME' DIR         ... to a moment, e.g. '2026-12-06 04:10:00+00' (PostgreSQL timestamptz)
#   pitr.sh verify                     check every archived WAL segment and backup file against its checksum
#   pitr.sh metrics                    write archiver and base-backup status for node-exporter's textfile collector
#
# Environment: PITR_CONF (pgBackRest's config, a Swarm secret; default /run/secrets/advwell-pgbackrest.conf),
# PITR_STANZA (default advwell), PGDATA (the live data directory: restore refuses it), and for
# `full`/`metrics` the connection of backup.sh (PGHOST, PGPORT, PGUSER, PGPASSWORD_FILE).
#
# A restore never touches the live cluster: DIR must be a new or empty directory other than PGDATA
# and the restored cluster starts with archive_mode=off, so it can never push a second timeline
# into the live stanza. Start it with `pg_ctl -D DIR -o '-p 5433' start` (or mount DIR in a new
# service) and read it, copy from it, or promote it by pointing the stack at its volume.
set -euo pipefail

CONF="${PITR_CONF:-/run/secrets/advwell-pgbackrest.conf}"
STANZA="${PITR_STANZA:-advwell}"

log() { printf '%s advwell-pitr: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
die() { printf '%s advwell-pitr: FAILED %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; exit 1; }

# pgBackRest runs as the data directory's owner: a restore made as root leaves root-owned files
# PostgreSQL refuses to start on. The backup job's container is root; the official image ships gosu.
pgbr() {
  if [ "$(id -u)" = 0 ] && command -v gosu >/dev/null 2>&1; then
    gosu postgres pgbackrest --config="$CONF" --stanza="$STANZA" "$@"
  else
    pgbackrest --config="$CONF" --stanza="$STANZA" "$@"
  fi
}

# PostgreSQL's password for the base backup's session, from the same secret backup.sh reads.
load_password() {
  if [ -z "${PGPASSWORD:-}" ] && [ -n "${PGPASSWORD_FILE:-}" ]; then
    [ -r "$PGPASSWORD_FILE" ] || die "cannot read $PGPASSWORD_FILE"
    PGPASSWORD=$(cat "$PGPASSWORD_FILE")
    export PGPASSWORD
  fi
}

init() {
  # stanza-create is idempotent when the repository matches this cluster; it refuses (and says
  # why) when the bucket holds another cluster's stanza, which is the case to stop at.
  load_password
  pgbr stanza-create || die "stanza-create failed (see above); nothing was archived"
  log "stanza $STANZA ready"
}

write_metric() { # name value help
  [ -n "${BACKUP_METRICS_DIR:-}" ] || return 0
  mkdir -p "$BACKUP_METRICS_DIR"
  local f="$BACKUP_METRICS_DIR/advwell_pitr_$1.prom"
  printf '# HELP advwell_pitr_%s %s\n# TYPE advwell_pitr_%s gauge\nadvwell_pitr_%s %s\n' "$1" "$3" "$1" "$1" "$2" >"$f.tmp"
  chmod 0644 "$f.tmp"
  mv "$f.tmp" "$f"
}

full() {
  load_password
  local started
  started=$(date +%s)
  pgbr --type=full backup || { write_metric last_full_failure_timestamp_seconds "$(date +%s)" "Unix time of the last failed full base backup."; die "full backup failed (see above)"; }
  write_metric last_full_success_timestamp_seconds "$(date +%s)" "Unix time of the last successful full base backup."
  log "full backup ok seconds=$(($(date +%s) - started))"
}

list() {
  echo "== base backups and archived WAL (pgBackRest) =="
  pgbr info
  if [ -n "${BACKUP_BUCKET:-}" ] && command -v aws >/dev/null 2>&1; then
    echo "== nightly dumps (restore.sh) =="
    HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    ( ADVWELL_BACKUP_LIB=1 . "$HERE/backup.sh"; load_credentials >/dev/null 2>&1 || true
      s3 s3 ls "s3://$BACKUP_BUCKET/$(key_prefix)" ) || echo "(cannot list the dumps)"
  fi
}

restore() { # target dir
  local target=${1:-} dir=${2:-} live
  [ -n "$target" ] && [ -n "$dir" ] || die "usage: pitr.sh restore latest|'YYYY-MM-DD HH:MM:SS+00' NEW_EMPTY_DIR"
  live=${PGDATA:-}
  if [ -n "$live" ] && [ "$(realpath -m "$dir")" = "$(realpath -m "$live")" ]; then
    die "refusing to restore over the live data directory $live; give a new directory"
  fi
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
    die "refusing to restore into $dir: it is not empty (a restore goes into a new cluster)"
  fi
  mkdir -p "$dir"
  chmod 0700 "$dir"
  if [ "$(id -u)" = 0 ] && command -v gosu >/dev/null 2>&1; then chown postgres:postgres "$dir"; fi
  # A restore is the one moment speed matters more than the node's other work: two processes
  # (PITR_RESTORE_PROCESSES) fetch, decrypt and decompress files side by side.
  local args=(--pg1-path="$dir" --archive-mode=off --process-max="${PITR_RESTORE_PROCESSES:-2}")
  if [ "$target" = latest ]; then
    # Replays every archived segment, then promotes: every commit that reached the bucket.
    args+=(--type=default)
  else
    # Recovery stops just after the last commit at or before TIME, then promotes.
    args+=(--type=time "--target=$target" --target-action=promote)
  fi
  local started
  started=$(date +%s)
  pgbr "${args[@]}" restore || die "restore into $dir failed (see above)"
  log "restored $target into $dir seconds=$(($(date +%s) - started)); start it with: pg_ctl -D $dir -o '-p 5433' start (it replays WAL, then promotes: psql -p 5433 -c 'select pg_is_in_recovery()' says f when done)"
}

# pgBackRest 2.45's verify reports each damaged file at INFO level ("invalid checksum '<file>'",
# "invalid size", "invalid result": verifyLogInvalidResult in src/command/verify/verify.c), the
# summary as "status: error", and still exits 0; so the script reads the report and fails on them.
verify() {
  local out
  out=$(pgbr --log-level-console=info --output=text --verbose verify 2>&1) || { printf '%s\n' "$out" >&2; die "verify could not run (see above)"; }
  if grep -qE "invalid (checksum|size|result) |status: error" <<<"$out"; then
    # The log's "invalid checksum '<file>'" lines, then verify's own report.
    grep -E "invalid (checksum|size|result) |file missing '|^status:|^  (archiveId|backup):|^    missing:" <<<"$out" | sed 's/^[0-9-]* [0-9:.]* P[0-9]* *[A-Z]*: //' >&2 || true
    die "verify found damaged or missing files in the archive (see above)"
  fi
  grep -E '^status:|^  (archiveId|backup):' <<<"$out" || true
  log "verify ok: every archived WAL segment and backup file matches its checksum"
}

# Archiver status for Prometheus, from pg_stat_archiver and the segments still waiting in pg_wal.
metrics() {
  load_password
  local row ready=0
  row=$(psql -X -At -v ON_ERROR_STOP=1 -d postgres -c "select coalesce(extract(epoch from last_archived_time)::bigint, 0), coalesce(extract(epoch from last_failed_time)::bigint, 0), failed_count from pg_stat_archiver") ||
    die "cannot read pg_stat_archiver"
  IFS='|' read -r archived failed failed_count <<<"$row"
  if [ -n "${PGDATA:-}" ] && [ -d "$PGDATA/pg_wal/archive_status" ]; then
    ready=$(find "$PGDATA/pg_wal/archive_status" -name '*.ready' | wc -l | tr -d ' ')
  fi
  write_metric last_archived_timestamp_seconds "$archived" "Unix time PostgreSQL last archived a WAL segment (pg_stat_archiver)."
  write_metric last_failed_timestamp_seconds "$failed" "Unix time the last archive_command failed (pg_stat_archiver)."
  write_metric failed_total "$failed_count" "archive_command failures since the statistics reset (pg_stat_archiver)."
  write_metric ready_segments "$ready" "WAL segments PostgreSQL has closed and not yet archived (pg_wal/archive_status/*.ready)."
  write_metric metrics_timestamp_seconds "$(date +%s)" "Unix time these PITR metrics were written."
}

case "${1:-}" in
  init) init ;;
  full) full ;;
  list) list ;;
  restore) shift; restore "$@" ;;
  verify) verify ;;
  metrics) metrics ;;
  *) echo "usage: pitr.sh init|full|list|restore latest|TIME DIR|verify|metrics" >&2; exit 2 ;;
esac
