#!/usr/bin/env bash
# AdvWell PostgreSQL backup to S3. Runs in the backup service (siemens/postgres-backup-s3:<major>,
# which is postgres:<major>-alpine plus the aws CLI and gnupg) and, unchanged, in the tests.
#
#   backup.sh [run]        take one backup now; exit 0 only when a verified object is in S3
#   backup.sh schedule     the service's command: one backup at start, then on BACKUP_SCHEDULE
#   backup.sh health       the service's healthcheck: 0 when the last run succeeded recently
#   backup.sh cron-matches "<expr>" "<MM HH DD MM W>"   exit 0 when the expression fires then
#
# Environment (the service sets these; secrets arrive as files, never as plain env):
#   PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD_FILE   the database to dump
#   BACKUP_BUCKET BACKUP_PREFIX BACKUP_STACK          -> s3://<bucket>/<prefix>/<stack>/<UTC>.dump
#   AWS_REGION AWS_ACCESS_KEY_ID_FILE AWS_SECRET_ACCESS_KEY_FILE
#   AWS_ENDPOINT_URL          optional (tests: s3rver); passed as --endpoint-url, which every
#                             aws CLI version understands (the env var only v2.13+/v1.29+ does)
#   BACKUP_PASSPHRASE_FILE    the stack's key (advwell:backupEncryptionKey): pg_dump streams into
#                             gpg --symmetric (AES256), key gets .gpg; no plaintext is ever on disk
#   BACKUP_SCHEDULE           five-field cron, UTC (model/backup.ts validates it)
#   BACKUP_MAX_AGE_SECONDS    health: a success older than this is stale (default 26 h)
#   BACKUP_STATE_DIR          last-run markers for the healthcheck (default /var/lib/advwell-backup)
#   BACKUP_WORK_DIR           where the dump is staged before upload (default $TMPDIR or /tmp)
#   BACKUP_COMPRESSION        pg_dump -Z level (default 6)
#
# Why the (encrypted) dump is staged in a file instead of piped into `aws s3 cp -`: with a pipe, a pg_dump
# that dies half-way still completes the upload, and a truncated dump sits under a final key.
# Staged, the upload starts only after pg_dump exited 0 and pg_restore --list read the whole
# archive. S3 makes an object visible only when its PUT (or CompleteMultipartUpload) succeeds, so
# an interrupted upload leaves no object at all (its parts are aborted by the CLI, or by the
# bucket's abort-incomplete-uploads rule a day later). A temp key plus copy would need a delete
# permission to clean up, which the writer deliberately lacks. After the upload, head-object must
# report the local size and the sha256 we attached as metadata before the run counts as good.
#
# Why our own scheduler loop instead of the image's go-cron or busybox crond: robfig/cron-based
# runners read "0 2 * * *" with a seconds field first (the cloudnative-pg #883 trap: hourly
# instead of daily), and crond starts jobs with an empty environment, so every setting would
# have to be re-exported through a file. A one-minute tick that matches the same five-field
# grammar the plan validates keeps the environment, never overlaps runs, and is tested against
# the model's parser.

if [ -n "${BASH_VERSION:-}" ]; then set -euo pipefail; else set -eu; fi

SELF="${BASH_SOURCE[0]:-$0}"
STATE_DIR="${BACKUP_STATE_DIR:-/var/lib/advwell-backup}"
WORK_ROOT="${BACKUP_WORK_DIR:-${TMPDIR:-/tmp}}"
MAX_AGE_SECONDS="${BACKUP_MAX_AGE_SECONDS:-93600}"

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*"; }
err() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

now_ms() {
  if [ -n "${EPOCHREALTIME:-}" ]; then
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000))
  else
    echo $(($(date +%s) * 1000))
  fi
}

seconds_since() { # ms -> "12.345"
  local d=$(($(now_ms) - $1))
  printf '%d.%03d' $((d / 1000)) $((d % 1000))
}

require_env() {
  local name missing=""
  for name in "$@"; do
    [ -n "${!name:-}" ] || missing="$missing $name"
  done
  [ -z "$missing" ] || { echo "missing environment:$missing" >&2; return 1; }
}

# Reads a secret file into a variable, trimming one trailing newline.
read_secret() { # var file
  [ -r "$2" ] || { echo "cannot read secret file $2" >&2; return 1; }
  local value
  value=$(cat "$2")
  printf -v "$1" '%s' "$value"
}

load_credentials() {
  require_env PGHOST PGDATABASE PGUSER PGPASSWORD_FILE BACKUP_BUCKET BACKUP_PREFIX BACKUP_STACK AWS_ACCESS_KEY_ID_FILE AWS_SECRET_ACCESS_KEY_FILE
  read_secret PGPASSWORD "$PGPASSWORD_FILE"
  read_secret AWS_ACCESS_KEY_ID "$AWS_ACCESS_KEY_ID_FILE"
  read_secret AWS_SECRET_ACCESS_KEY "$AWS_SECRET_ACCESS_KEY_FILE"
  export PGPASSWORD AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  export AWS_DEFAULT_REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
  export PGPORT="${PGPORT:-5432}"
  export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-15}"
}

s3() { # aws CLI with the endpoint override, quiet on success
  if [ -n "${AWS_ENDPOINT_URL:-}" ]; then
    aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"
  else
    aws "$@"
  fi
}

key_prefix() { echo "${BACKUP_PREFIX}/${BACKUP_STACK}/"; }

# The newest backup key of this stack, or nothing. Keys are UTC timestamps, so the largest sorts last.
latest_key() {
  local k
  k=$(s3 s3api list-objects-v2 --bucket "$BACKUP_BUCKET" --prefix "$(key_prefix)" \
    --query 'sort_by(Contents || `[]`, &Key)[-1].Key' --output text)
  [ "$k" = "None" ] || [ "$k" = "null" ] || printf '%s' "$k"
}

file_size() { wc -c <"$1" | tr -d ' '; }
file_sha256() { sha256sum "$1" | cut -d' ' -f1; }

# Runs a step; on failure prints "<stage>: <last lines of its stderr>" and returns non-zero.
step() { # stage command...
  local stage=$1
  shift
  if ! "$@" 2>"$WORK/$stage.err"; then
    STAGE=$stage
    DETAIL=$(grep -v '^[[:space:]]*$' "$WORK/$stage.err" | tail -n 3 | tr '\n' ' ')
    return 1
  fi
}

write_state() { # name content
  mkdir -p "$STATE_DIR"
  printf '%s\n' "$2" >"$STATE_DIR/$1.tmp" && mv "$STATE_DIR/$1.tmp" "$STATE_DIR/$1"
}

# node-exporter's textfile collector reads *.prom files; written whole, then renamed, so it never
# reads half a file. Monitoring alerts when this timestamp is more than 26 h old.
write_metric() { # unix-seconds
  [ -n "${BACKUP_METRICS_DIR:-}" ] || return 0
  mkdir -p "$BACKUP_METRICS_DIR"
  {
    echo "# HELP advwell_backup_last_success_timestamp_seconds Unix time of the last verified backup upload."
    echo "# TYPE advwell_backup_last_success_timestamp_seconds gauge"
    echo "advwell_backup_last_success_timestamp_seconds{stack=\"$BACKUP_STACK\"} $1"
  } >"$BACKUP_METRICS_DIR/advwell_backup.prom.tmp"
  chmod 0644 "$BACKUP_METRICS_DIR/advwell_backup.prom.tmp"
  mv "$BACKUP_METRICS_DIR/advwell_backup.prom.tmp" "$BACKUP_METRICS_DIR/advwell_backup.prom"
}

# pipefail (set above) makes the pipeline fail when pg_dump does, even though gpg exits 0.
dump_encrypted() { # out
  pg_dump --format=custom --compress="${BACKUP_COMPRESSION:-6}" |
    GNUPGHOME="$WORK/gnupg" gpg --batch --yes --quiet --pinentry-mode loopback \
      --passphrase-file "$BACKUP_PASSPHRASE_FILE" --symmetric --cipher-algo AES256 \
      --compress-algo none --output "$1"
}

# pg_restore --list stops reading after the table of contents; cat drains the rest so gpg decrypts
# the whole file (and checks its integrity code) instead of dying of SIGPIPE, which pipefail would
# report as a failure.
check_encrypted() { # file
  GNUPGHOME="$WORK/gnupg" gpg --batch --quiet --pinentry-mode loopback \
    --passphrase-file "$BACKUP_PASSPHRASE_FILE" --decrypt "$1" | { pg_restore --list >/dev/null && cat >/dev/null; }
}

decrypt() { # in out
  GNUPGHOME="$WORK/gnupg" gpg --batch --yes --quiet --pinentry-mode loopback \
    --passphrase-file "$BACKUP_PASSPHRASE_FILE" --decrypt --output "$2" "$1"
}

make_work_dir() {
  WORK=$(mktemp -d "$WORK_ROOT/advwell-backup.XXXXXX")
  mkdir -m 700 "$WORK/gnupg"
}

run_backup() {
  local started started_ms stamp key file size sha remote remote_size remote_sha
  started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  started_ms=$(now_ms)
  STAGE=config
  DETAIL=""
  WORK=""
  write_state running "$(date -u +%s)"
  trap 'rm -f "$STATE_DIR/running"; [ -z "$WORK" ] || rm -rf "$WORK"' EXIT

  fail() {
    err "advwell-backup: FAILED started=$started stage=$STAGE seconds=$(seconds_since "$started_ms") target=s3://${BACKUP_BUCKET:-?}/${key:-$(key_prefix 2>/dev/null || true)}: ${DETAIL:-$1}; no backup was recorded"
    write_state last-failure "$(date -u +%s) $STAGE"
    exit 1
  }

  load_credentials 2>"${STATE_DIR}/config.err" || { DETAIL=$(tr '\n' ' ' <"${STATE_DIR}/config.err"); fail "bad configuration"; }
  make_work_dir || fail "cannot create a work directory in $WORK_ROOT"

  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  key="$(key_prefix)${stamp}.dump"
  file="$WORK/$stamp.dump"

  if [ -n "${BACKUP_PASSPHRASE_FILE:-}" ]; then
    # pg_dump streams into gpg: the node's disk only ever holds ciphertext (issue 22 item 9).
    # The check decrypts into pg_restore --list through a pipe, again without a plaintext file.
    key="$key.gpg"
    file="$file.gpg"
    step dump dump_encrypted "$file" || fail "pg_dump or gpg failed"
    step check-archive check_encrypted "$file" || fail "the encrypted dump does not decrypt to a readable archive"
  else
    step dump pg_dump --format=custom --compress="${BACKUP_COMPRESSION:-6}" --file="$file" || fail "pg_dump failed"
    step check-archive pg_restore --list "$file" >/dev/null || fail "the dump is not a readable archive"
  fi
  size=$(file_size "$file")
  sha=$(file_sha256 "$file")

  step upload s3 s3 cp "$file" "s3://$BACKUP_BUCKET/$key" --only-show-errors --no-progress \
    --metadata "sha256=$sha,stack=$BACKUP_STACK,database=$PGDATABASE" || fail "upload failed"

  STAGE=verify
  remote=$(s3 s3api head-object --bucket "$BACKUP_BUCKET" --key "$key" --query '[ContentLength, Metadata.sha256]' --output text 2>"$WORK/verify.err") ||
    { DETAIL=$(tail -n 3 "$WORK/verify.err" | tr '\n' ' '); fail "head-object failed"; }
  read -r remote_size remote_sha <<<"$remote"
  [ "$remote_size" = "$size" ] && [ "$remote_sha" = "$sha" ] ||
    fail "s3 reports $remote_size bytes / sha256 $remote_sha, the local dump is $size bytes / $sha: the object is NOT a good backup"

  write_state last-success "$(date -u +%s) $key"
  rm -f "$STATE_DIR/last-failure"
  write_metric "$(date -u +%s)"
  log "advwell-backup: ok started=$started key=s3://$BACKUP_BUCKET/$key bytes=$size seconds=$(seconds_since "$started_ms") sha256=$sha"
}

# ---------------------------------------------------------------------------------------------
# Scheduling: the same grammar as parseCron in model/backup.ts.

cron_field_matches() { # value field min max
  local value=$((10#$1)) field=$2 min=$3 max=$4 part range step lo hi parts
  IFS=, read -r -a parts <<<"$field"
  for part in "${parts[@]}"; do
    step=1
    range=$part
    case $part in */*) step=${part#*/} range=${part%/*} ;; esac
    if [ "$range" = "*" ]; then
      lo=$min hi=$max
    elif [ "${range#*-}" != "$range" ]; then
      lo=${range%-*} hi=${range#*-}
    else
      lo=$range
      if [ "$part" != "$range" ]; then hi=$max; else hi=$lo; fi
    fi
    lo=$((10#$lo)) hi=$((10#$hi)) step=$((10#$step))
    if [ "$value" -ge "$lo" ] && [ "$value" -le "$hi" ] && [ $(((value - lo) % step)) -eq 0 ]; then return 0; fi
  done
  return 1
}

cron_matches() { # "expr" "MM HH DD MM W"
  local minute hour dom month dow fmin fhour fdom fmonth fdow dom_ok=1 dow_ok=1
  read -r fmin fhour fdom fmonth fdow <<<"$1"
  read -r minute hour dom month dow <<<"$2"
  cron_field_matches "$minute" "$fmin" 0 59 || return 1
  cron_field_matches "$hour" "$fhour" 0 23 || return 1
  cron_field_matches "$month" "$fmonth" 1 12 || return 1
  cron_field_matches "$dom" "$fdom" 1 31 || dom_ok=0
  # Sunday is 0 and 7.
  cron_field_matches "$dow" "$fdow" 0 7 || { [ $((10#$dow)) -eq 0 ] && cron_field_matches 7 "$fdow" 0 7; } || dow_ok=0
  if [ "$fdom" != "*" ] && [ "$fdow" != "*" ]; then
    [ $dom_ok -eq 1 ] || [ $dow_ok -eq 1 ]
  else
    [ $dom_ok -eq 1 ] && [ $dow_ok -eq 1 ]
  fi
}

# A process per run: its own errexit and traps, and a failing run never stops the scheduler.
# Runs and sleeps are waited on in the background so SIGTERM (docker stop) is handled at once:
# bash as PID 1 would otherwise ignore it until the grace period ends in SIGKILL. A stop while
# the scheduler sleeps exits at once; a stop during a run lets the run finish (the plan gives the
# service a stop grace period long enough for a dump), so an update at 02:00 loses no backup.
# If the grace period still runs out, the upload is cut short and leaves no object (see above).
CHILD=""
CHILD_IS_RUN=""
run_once_isolated() {
  "${BASH:-bash}" "$SELF" run &
  CHILD=$!
  CHILD_IS_RUN=1
  wait "$CHILD" || true
  CHILD=""
  CHILD_IS_RUN=""
}

on_stop() {
  if [ -n "$CHILD" ] && [ -n "$CHILD_IS_RUN" ]; then
    log "advwell-backup: stop requested during a backup; finishing it first"
    wait "$CHILD" || true
  elif [ -n "$CHILD" ]; then
    kill "$CHILD" 2>/dev/null || true
  fi
  log "advwell-backup: scheduler stopping"
  exit 0
}

# Swarm starts every task of a stack at once (a first deploy, a node's reboot): wait until the
# database answers before the first run, so it neither fails nor turns the task unhealthy.
wait_for_database() {
  local waited=0 limit="${BACKUP_START_WAIT_SECONDS:-300}"
  until pg_isready -q -h "$PGHOST" -p "${PGPORT:-5432}" -t 5 >/dev/null 2>&1; do
    if [ "$waited" -ge "$limit" ]; then
      log "advwell-backup: $PGHOST:${PGPORT:-5432} still not ready after ${limit} s; running anyway"
      return 0
    fi
    [ $((waited % 30)) -ne 0 ] || log "advwell-backup: waiting for $PGHOST:${PGPORT:-5432} before the first backup"
    sleep 5 & CHILD=$!; wait "$CHILD" || true; CHILD=""
    waited=$((waited + 5))
  done
}

# Point-in-time recovery (PITR_FULL_SCHEDULE set): pitr.sh beside this script creates the stanza at
# start, takes full base backups on its own cron, and writes the archiver's metrics every minute.
# Runs stay one at a time: the same loop starts them, each waited for.
pitr() { # args...
  [ -n "${PITR_FULL_SCHEDULE:-}" ] || return 0
  "${BASH:-bash}" "$(dirname "$SELF")/pitr.sh" "$@" &
  CHILD=$!
  CHILD_IS_RUN=1
  wait "$CHILD" || true
  CHILD=""
  CHILD_IS_RUN=""
}

schedule() {
  require_env BACKUP_SCHEDULE
  log "advwell-backup: scheduler up; cron \"$BACKUP_SCHEDULE\" (UTC); taking a backup now, then on schedule"
  [ -z "${PITR_FULL_SCHEDULE:-}" ] || log "advwell-backup: point-in-time recovery on; full base backups on cron \"$PITR_FULL_SCHEDULE\" (UTC)"
  mkdir -p "$STATE_DIR"
  trap on_stop TERM INT
  wait_for_database
  pitr init
  run_once_isolated
  local last="" now tick
  while true; do
    now=$(date -u +%s)
    sleep $((60 - now % 60)) &
    CHILD=$!
    wait "$CHILD" || true
    CHILD=""
    tick=$(date -u '+%M %H %d %m %w')
    [ "$tick" != "$last" ] || continue
    last=$tick
    if cron_matches "$BACKUP_SCHEDULE" "$tick"; then run_once_isolated; fi
    if [ -n "${PITR_FULL_SCHEDULE:-}" ]; then
      if cron_matches "$PITR_FULL_SCHEDULE" "$tick"; then pitr full; fi
      pitr metrics
    fi
  done
}

health() {
  local now success_at failed_at running_at
  now=$(date -u +%s)
  success_at=$(cut -d' ' -f1 "$STATE_DIR/last-success" 2>/dev/null || true)
  failed_at=$(cut -d' ' -f1 "$STATE_DIR/last-failure" 2>/dev/null || true)
  running_at=$(cat "$STATE_DIR/running" 2>/dev/null || true)
  if [ -n "$failed_at" ] && [ -z "$running_at" ]; then
    echo "unhealthy: the last backup failed ($(cat "$STATE_DIR/last-failure")); see the service log"
    return 1
  fi
  if [ -n "$success_at" ] && [ $((now - success_at)) -le "$MAX_AGE_SECONDS" ]; then
    echo "healthy: last backup $((now - success_at)) s ago ($(cut -d' ' -f2 "$STATE_DIR/last-success"))"
    return 0
  fi
  if [ -n "$running_at" ] && [ -z "$failed_at" ] && [ $((now - running_at)) -le "$MAX_AGE_SECONDS" ]; then
    echo "healthy: a backup has been running for $((now - running_at)) s"
    return 0
  fi
  if [ -n "$success_at" ]; then
    echo "unhealthy: the last successful backup is $((now - success_at)) s old (limit $MAX_AGE_SECONDS s)"
  else
    echo "unhealthy: no successful backup yet"
  fi
  return 1
}

main() {
  case "${1:-run}" in
    run)
      mkdir -p "$STATE_DIR"
      run_backup
      ;;
    schedule) schedule ;;
    health) health ;;
    cron-matches) cron_matches "$2" "$3" ;;
    *)
      echo "usage: $0 [run|schedule|health|cron-matches <expr> <'MM HH DD MM W'>]" >&2
      exit 2
      ;;
  esac
}

# restore.sh and restore-drill.sh source this file for its helpers.
if [ "${ADVWELL_BACKUP_LIB:-0}" != 1 ]; then main "$@"; fi
