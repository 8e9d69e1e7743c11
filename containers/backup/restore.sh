#!/usr/bin/env bash
# Restores an AdvWell backup from S3 into a database.
#
#   restore.sh [--into-live] [KEY]
#                        KEY is an object key (postgres/production/20261128T020000Z.dump) or a
#                        bare timestamp (20261128T020000Z); without it, the stack's latest backup.
#
# Same environment as backup.sh (bucket, prefix, stack, AWS_* and PG* with *_FILE secrets), plus:
#   RESTORE_DATABASE   the target database. Default: a new database <PGDATABASE>_restore_<UTC time>
#                      next to the live one, so a restore never lands on live data by accident.
#                      A missing target is created, owned by RESTORE_OWNER. The live database
#                      (PGDATABASE) is a target only with --into-live.
#   RESTORE_OWNER      the role that owns the restored objects. Default: the owner of PGDATABASE
#                      (the app role: the reconciler makes it own the app database). Never a
#                      superuser.
#
# Why not as the superuser (issue 22): the dump's objects come from the app role, and restoring
# them runs their code (a materialized view's query and its functions on REFRESH, CHECK
# constraints and generated columns on every COPY row, index expressions). As the superuser with
# --no-owner, all of that ran as superuser: any restore escalated the app role. `pg_restore
# --role` from a superuser session is no boundary either, since code it runs can RESET ROLE back
# to the session user. So the superuser only prepares (the target database, owned by the owner
# role; a temporary login role that is a member of the owner role, with a random password sent
# as a SCRAM verifier), and pg_restore connects as that temporary role with --role=<owner>: every
# object is created by and owned by the owner role, and no session in the restore is a
# superuser's. The temporary role is dropped at exit (and expires after six hours regardless).
# The superuser's sessions pin search_path to pg_catalog in the startup packet and quote every
# name on the server (format %I/%L), as containers/postgres/reconcile.sh does.
#
# With --into-live (or a target that exists), objects the dump also contains are dropped and
# re-created (pg_restore --clean --if-exists). The restore runs in one transaction: it lands whole
# or not at all. --no-owner/--no-acl make the owner role own everything. The download is checked
# against the sha256 that backup.sh attached to the object before anything touches the database.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ADVWELL_BACKUP_LIB=1 . "$HERE/backup.sh"

restore_fail() { err "advwell-restore: FAILED stage=$STAGE key=${RESTORE_KEY:-?}: ${DETAIL:-$1}"; exit 1; }

# Startup-packet settings for the superuser's sessions: they outrank ALTER DATABASE/ROLE ... SET,
# which the app role can use on its own database (see reconcile.sh's SUPERUSER_SESSION_OPTIONS).
ADMIN_SESSION_OPTIONS="-c search_path=pg_catalog,pg_temp -c client_min_messages=warning -c standard_conforming_strings=on -c default_transaction_read_only=off -c log_statement=none -c log_min_duration_statement=-1 -c log_min_duration_sample=-1 -c log_transaction_sample_rate=0 -c pg_stat_statements.track=none -c auto_explain.log_min_duration=-1"

# psql as the superuser (PGUSER), into the maintenance database unless told otherwise; SQL on stdin.
psql_admin() {
  PGOPTIONS="$ADMIN_SESSION_OPTIONS" psql -X -q -At -v ON_ERROR_STOP=1 --set=VERBOSITY=terse -d "${ADMIN_DATABASE:-postgres}" "$@"
}

# The same SCRAM-SHA-256 verifier computation as containers/postgres/reconcile.sh (see its
# comment and sources there): the two scripts run in different images and are mounted
# separately. perl with Digest::SHA in Debian images, python3 in the Alpine backup image.
SCRAM_PERL='use strict; use Digest::SHA qw(hmac_sha256 sha256); use MIME::Base64 qw(encode_base64);
open(my $f, "<:raw", $ARGV[0]) or die "cannot read $ARGV[0]\n"; local $/; my $pw = <$f> // ""; $pw =~ s/\n\z//;
die "the password in $ARGV[0] is not ASCII\n" if $pw =~ /[^\x00-\x7f]/;
open(my $r, "<:raw", "/dev/urandom") or die "cannot read /dev/urandom\n"; read($r, my $salt, 16) == 16 or die "short read from /dev/urandom\n";
my $u = hmac_sha256($salt . pack("N", 1), $pw); my $h = $u; for (2 .. 4096) { $u = hmac_sha256($u, $pw); $h ^= $u; }
printf("SCRAM-SHA-256\$4096:%s\$%s:%s", encode_base64($salt, ""), encode_base64(sha256(hmac_sha256("Client Key", $h)), ""), encode_base64(hmac_sha256("Server Key", $h), ""));'
SCRAM_PYTHON='import base64, hashlib, hmac, os, sys
pw = open(sys.argv[1], "rb").read()
pw = pw[:-1] if pw.endswith(b"\n") else pw
if any(b > 127 for b in pw): sys.exit("the password in %s is not ASCII" % sys.argv[1])
salt = os.urandom(16)
salted = hashlib.pbkdf2_hmac("sha256", pw, salt, 4096, 32)
key = lambda name: hmac.new(salted, name, hashlib.sha256).digest()
b64 = lambda b: base64.b64encode(b).decode()
sys.stdout.write("SCRAM-SHA-256$4096:%s$%s:%s" % (b64(salt), b64(hashlib.sha256(key(b"Client Key")).digest()), b64(key(b"Server Key"))))'
scram_verifier() { # password-file
  if perl -MDigest::SHA -MMIME::Base64 -e 1 2>/dev/null; then
    perl -e "$SCRAM_PERL" "$1"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c "$SCRAM_PYTHON" "$1"
  else
    echo "cannot compute a SCRAM verifier: neither perl with Digest::SHA nor python3 is in this image" >&2
    return 1
  fi
}

# The owner role: RESTORE_OWNER, or the live database's owner. Refuses a superuser or a role that
# does not exist. Sets RESTORE_OWNER.
resolve_owner() {
  local row
  if [ -z "${RESTORE_OWNER:-}" ]; then
    RESTORE_OWNER=$(psql_admin --set=db="$PGDATABASE" <<'SQL'
SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) :'db';
SQL
    ) || return 1
    [ -n "$RESTORE_OWNER" ] || { echo "the live database $PGDATABASE does not exist; set RESTORE_OWNER to the role that should own the restore" >&2; return 1; }
  fi
  row=$(psql_admin --set=owner="$RESTORE_OWNER" <<'SQL'
SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) :'owner';
SQL
  ) || return 1
  case $row in
    f) ;;
    t) echo "the owner role $RESTORE_OWNER is a superuser: restored objects would run as superuser; set RESTORE_OWNER to the app role" >&2; return 1 ;;
    *) echo "the owner role $RESTORE_OWNER does not exist" >&2; return 1 ;;
  esac
}

# Creates the target database owned by the owner role when it is missing. An existing target must
# be owned by the owner role already, or by a superuser (a database made by hand for the restore),
# which then hands it to the owner role; anything else is refused.
prepare_target() { # database
  local current
  current=$(psql_admin --set=db="$1" <<'SQL'
SELECT pg_catalog.pg_get_userbyid(d.datdba) OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) r.rolsuper::pg_catalog.text
  FROM pg_catalog.pg_database d JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) d.datdba
 WHERE d.datname OPERATOR(pg_catalog.=) :'db';
SQL
  ) || return 1
  case $current in
    "") psql_admin --set=db="$1" --set=owner="$RESTORE_OWNER" <<'SQL' ;;
SELECT pg_catalog.format('CREATE DATABASE %I OWNER %I', :'db', :'owner') \gexec
SQL
    "$RESTORE_OWNER "*) ;;
    *" true") psql_admin --set=db="$1" --set=owner="$RESTORE_OWNER" <<'SQL' ;;
SELECT pg_catalog.format('ALTER DATABASE %I OWNER TO %I', :'db', :'owner') \gexec
SQL
    *) echo "database $1 belongs to ${current% *}, not to the owner role $RESTORE_OWNER" >&2; return 1 ;;
  esac
}

# The temporary role's random password (RESTORE_ROLE_PASSWORD) and its SCRAM verifier, in the work
# directory: made before anything touches a database, so an image without perl or python3 stops here.
restore_role_secret() { # work-dir
  local verifier
  RESTORE_ROLE_PASSWORD=$(od -An -tx1 -N24 /dev/urandom | tr -d ' \n')
  [ ${#RESTORE_ROLE_PASSWORD} -eq 48 ] || { echo "cannot read /dev/urandom" >&2; return 1; }
  (umask 077 && printf '%s' "$RESTORE_ROLE_PASSWORD" >"$1/restore-role-password")
  verifier=$(scram_verifier "$1/restore-role-password") || return 1
  rm -f "$1/restore-role-password"
  (umask 077 && printf '%s' "$verifier" >"$1/restore-role-verifier")
}

# A temporary login role that is a member of the owner role and nothing else, with the verifier
# restore_role_secret made (only that reaches the server). Sets RESTORE_ROLE.
create_restore_role() { # work-dir
  RESTORE_ROLE="advwell_restore_$(date -u +%Y%m%d%H%M%S)_$$"
  psql_admin --set=role="$RESTORE_ROLE" --set=owner="$RESTORE_OWNER" <<SQL
\set verifier \`cat '$1/restore-role-verifier'\`
SELECT pg_catalog.format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT CONNECTION LIMIT 3 VALID UNTIL %L PASSWORD %L',
                         :'role', (pg_catalog.now() OPERATOR(pg_catalog.+) '6 hours'::pg_catalog.interval)::pg_catalog.text, :'verifier') \gexec
SELECT pg_catalog.format('GRANT %I TO %I', :'owner', :'role') \gexec
SQL
}

# Drops the temporary role. pg_restore creates everything as the owner role, but restored code can
# RESET ROLE back to the temporary one, so whatever it came to own in the target goes to the owner
# role first (REASSIGN OWNED and DROP OWNED run none of the objects' code).
drop_restore_role() { # target-database
  [ -n "${RESTORE_ROLE:-}" ] || return 0
  if ! { ADMIN_DATABASE="$1" psql_admin --set=role="$RESTORE_ROLE" --set=owner="${RESTORE_OWNER:-}" <<'SQL'
SELECT pg_catalog.format('REASSIGN OWNED BY %I TO %I', :'role', :'owner') FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) :'role' \gexec
SELECT pg_catalog.format('DROP OWNED BY %I', :'role') FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) :'role' \gexec
SQL
    psql_admin --set=role="$RESTORE_ROLE" <<'SQL'
SELECT pg_catalog.format('DROP ROLE IF EXISTS %I', :'role') \gexec
SQL
  } 2>"${WORK:-/tmp}/drop-role.err"; then
    err "advwell-restore: could not drop the temporary role $RESTORE_ROLE (it expires within 6 h): $(tr '\n' ' ' <"${WORK:-/tmp}/drop-role.err")"
    return 1
  fi
  RESTORE_ROLE=""
}

# Runs a client program as the temporary role (never the superuser), search_path pinned as well.
as_restore_role() {
  PGUSER="$RESTORE_ROLE" PGPASSWORD="$RESTORE_ROLE_PASSWORD" PGOPTIONS="-c search_path=pg_catalog,pg_temp" "$@"
}

restore_main() {
  local started_ms file size expected_sha actual_sha target into_live=0
  started_ms=$(now_ms)
  STAGE=config
  DETAIL=""
  WORK=""
  RESTORE_KEY=""
  RESTORE_ROLE=""
  if [ "${1:-}" = --into-live ]; then into_live=1; shift; fi
  case "${1:-}" in -*) DETAIL="unknown option $1 (usage: restore.sh [--into-live] [KEY])"; restore_fail "bad arguments" ;; esac
  trap 'drop_restore_role "${target:-postgres}" || true; [ -z "$WORK" ] || rm -rf "$WORK"' EXIT
  mkdir -p "$STATE_DIR" 2>/dev/null || STATE_DIR=$(mktemp -d)
  load_credentials 2>"$STATE_DIR/restore-config.err" || { DETAIL=$(tr '\n' ' ' <"$STATE_DIR/restore-config.err"); restore_fail "bad configuration"; }
  target="${RESTORE_DATABASE:-${PGDATABASE:0:40}_restore_$(date -u +%Y%m%d%H%M%S)}"
  case $target in
    postgres | template0 | template1) restore_fail "refusing to restore into the maintenance database $target" ;;
  esac
  if [ "$target" = "$PGDATABASE" ] && [ $into_live = 0 ]; then
    restore_fail "RESTORE_DATABASE is the live database $PGDATABASE: restoring over it drops and re-creates its objects; pass --into-live to do that"
  fi
  make_work_dir || restore_fail "cannot create a work directory in $WORK_ROOT"
  [[ "$WORK" != *"'"* ]] || restore_fail "quotes in the work directory's path $WORK"
  step owner resolve_owner || restore_fail "no owner role for the restore"

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
  step secret restore_role_secret "$WORK" || restore_fail "cannot make the temporary role's password"
  step target prepare_target "$target" || restore_fail "cannot prepare database $target"
  step role create_restore_role "$WORK" || restore_fail "cannot create the temporary restore role"
  step restore as_restore_role pg_restore --dbname="$target" --role="$RESTORE_OWNER" --clean --if-exists --no-owner --no-acl \
    --single-transaction --exit-on-error "$file" || restore_fail "pg_restore into $target failed (nothing was changed: single transaction)"
  STAGE=cleanup
  drop_restore_role "$target" || restore_fail "the restore landed, but the temporary role was not dropped"
  log "advwell-restore: ok key=s3://$BACKUP_BUCKET/$RESTORE_KEY bytes=$size database=$target seconds=$(seconds_since "$started_ms") owner=$RESTORE_OWNER"
}

if [ "${ADVWELL_RESTORE_LIB:-0}" != 1 ]; then restore_main "$@"; fi
