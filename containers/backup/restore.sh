#!/usr/bin/env bash
# Restores an AdvWell backup from S3 into a database.
#
#   restore.sh [KEY]     KEY is an object key (postgres/production/20261128T020000Z.dump) or a
#                        bare timestamp (20261128T020000Z); without it, the stack's latest backup.
#
# Same environment as backup.sh (bucket, prefix, stack, AWS_* and PG* with *_FILE secrets), plus:
#   RESTORE_DATABASE   the target database (default PGDATABASE); it must exist
#
# WARNING: objects in the target that the dump also contains are dropped and re-created
# (pg_restore --clean --if-exists). The restore runs in one transaction: it lands whole or not at
# all. --no-owner/--no-acl make the restoring role own everything, so a restore into a fresh
# cluster does not fail on roles that do not exist there. The download is checked against the
# sha256 that backup.sh attached to the object before anything touches the database.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ADVWELL_BACKUP_LIB=1 . "$HERE/backup.sh"

restore_fail() { err "advwell-restore: FAILED stage=$STAGE key=${RESTORE_KEY:-?}: ${DETAIL:-$1}"; exit 1; }

restore_main() {
  local started_ms file size expected_sha actual_sha target
  started_ms=$(now_ms)
  STAGE=config
  DETAIL=""
  WORK=""
  RESTORE_KEY=""
  trap '[ -z "$WORK" ] || rm -rf "$WORK"' EXIT
  mkdir -p "$STATE_DIR" 2>/dev/null || STATE_DIR=$(mktemp -d)
  load_credentials 2>"$STATE_DIR/restore-config.err" || { DETAIL=$(tr '\n' ' ' <"$STATE_DIR/restore-config.err"); restore_fail "bad configuration"; }
  target="${RESTORE_DATABASE:-$PGDATABASE}"
  make_work_dir || restore_fail "cannot create a work directory in $WORK_ROOT"

  case "${1:-}" in
    "") step list latest_key >"$WORK/latest" || restore_fail "cannot list s3://$BACKUP_BUCKET/$(key_prefix)"
        RESTORE_KEY=$(cat "$WORK/latest")
        [ -n "$RESTORE_KEY" ] || { STAGE=list; restore_fail "no backup under s3://$BACKUP_BUCKET/$(key_prefix)"; } ;;
    */*) RESTORE_KEY=$1 ;;
    *) RESTORE_KEY="$(key_prefix)$1"; case $RESTORE_KEY in *.dump|*.dump.gpg) ;; *) RESTORE_KEY="$RESTORE_KEY.dump" ;; esac ;;
  esac

  case $RESTORE_KEY in
    *.gpg) [ -n "${BACKUP_PASSPHRASE_FILE:-}" ] || { STAGE=decrypt; restore_fail "the backup is encrypted; set BACKUP_PASSPHRASE_FILE"; } ;;
  esac
  file="$WORK/backup"
  step download s3 s3 cp "s3://$BACKUP_BUCKET/$RESTORE_KEY" "$file" --only-show-errors --no-progress || restore_fail "download failed"
  STAGE=verify
  expected_sha=$(s3 s3api head-object --bucket "$BACKUP_BUCKET" --key "$RESTORE_KEY" --query Metadata.sha256 --output text 2>"$WORK/verify.err") ||
    { DETAIL=$(tail -n 3 "$WORK/verify.err" | tr '\n' ' '); restore_fail "head-object failed"; }
  actual_sha=$(file_sha256 "$file")
  if [ "$expected_sha" != "None" ] && [ "$expected_sha" != "$actual_sha" ]; then
    restore_fail "downloaded sha256 $actual_sha differs from the $expected_sha recorded at backup time"
  fi
  size=$(file_size "$file")
  case $RESTORE_KEY in
    *.gpg)
      step decrypt decrypt "$file" "$file.dump" || restore_fail "gpg decryption failed"
      file="$file.dump" ;;
  esac
  step restore pg_restore --dbname="$target" --clean --if-exists --no-owner --no-acl \
    --single-transaction --exit-on-error "$file" || restore_fail "pg_restore into $target failed (nothing was changed: single transaction)"
  log "advwell-restore: ok key=s3://$BACKUP_BUCKET/$RESTORE_KEY bytes=$size database=$target seconds=$(seconds_since "$started_ms")"
}

restore_main "$@"
