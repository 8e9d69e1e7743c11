#!/usr/bin/env bash
# AdvWell's role reconciler: makes PostgreSQL's roles, ownership and replication slots what the
# plan says, on every deploy and every few minutes after, whatever state the cluster was in
# (a fresh initdb, the seed's existing `advtom` cluster taken over, a rotated password).
#
#   reconcile.sh          the postgres-reconcile service's command: reconcile, then again every
#                         RECONCILE_INTERVAL_SECONDS; a failure is retried and never exits the loop
#   reconcile.sh once     reconcile once and exit 0, or 1 with the reason
#   reconcile.sh health   the service's healthcheck: 0 when the last reconcile succeeded recently
#
# It runs as its own Swarm service (postgres-reconcile), not inside the database's container: a
# rotated password changes this service and the clients, never the database's spec, so rotation
# does not restart PostgreSQL. It reaches the primary over the data network as the superuser.
#
# Inputs (model/plan: the postgres-reconcile service's env), passwords as files (Swarm secrets):
#   PGHOST PGPORT                       the primary
#   SUPERUSER SUPERUSER_PASSWORD_FILE   who it logs in as
#   APP_DB_NAME APP_DB_USER APP_DB_PASSWORD_FILE
#                                       the application database, and the role that owns it and
#                                       everything in its public schema
#   MONITORING_ROLE MONITORING_ROLE_CONNECTION_LIMIT MONITORING_PASSWORD_FILE
#                                       optional: the read-only role postgres-exporter uses
#   REPLICATION_USER REPLICATION_PASSWORD_FILE REPLICATION_SLOTS
#                                       optional: the streaming replicas' role and slots
#   RECONCILE_INTERVAL_SECONDS          default 300
#   RECONCILE_STATE_DIR                 default /tmp/advwell-reconcile (the health marker)
#
# Passwords never reach the server: the script computes each role's SCRAM-SHA-256 verifier itself,
# as psql's \password does with libpq's PQencryptPasswordConn, and sends only that (ALTER ROLE ...
# PASSWORD 'SCRAM-SHA-256$...' is stored as given). So no log setting, sampling, auto_explain or
# pg_stat_statements can ever hold a plaintext password. Verifiers go from a 0700 work directory
# into psql through a backquote in \set, never through argv. The superuser's own password goes
# into a 0600 libpq password file there.
#
# It runs as superuser inside a database the app role owns, so it must never run code the app role
# can define (issue 22; the CVE-2018-1058 pattern): every session pins search_path to pg_catalog
# (pg_temp last) in the connection's startup packet, which outranks the database's and the
# roles' own settings (ALTER DATABASE/ROLE ... SET apply at connect, before any statement could
# SET them back), names functions and operators with their pg_catalog schema, lets the server
# quote identifiers and literals (format %I/%L, regclass/regprocedure output), and runs no DML on
# the app's tables. Only ALTER ... OWNER touches the app's objects, and that runs none of their code.

if [ -n "${BASH_VERSION:-}" ]; then set -euo pipefail; fi

INTERVAL="${RECONCILE_INTERVAL_SECONDS:-300}"
STATE_DIR="${RECONCILE_STATE_DIR:-/tmp/advwell-reconcile}"
log() { printf 'advwell-reconcile: %s\n' "$*" >&2; }

ident() { [[ "$2" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || { log "$1 \"$2\" is not a lower-case PostgreSQL identifier"; return 1; }; }
readable() { [ -r "$2" ] && [ -s "$2" ] || { log "$1: cannot read $2, or it is empty"; return 1; }; [[ "$2" != *"'"* ]] || { log "$1: quotes in the path"; return 1; }; }

check_inputs() {
  : "${PGHOST:?}" "${PGPORT:?}" "${SUPERUSER:?}" "${SUPERUSER_PASSWORD_FILE:?}" "${APP_DB_NAME:?}" "${APP_DB_USER:?}" "${APP_DB_PASSWORD_FILE:?}"
  ident SUPERUSER "$SUPERUSER" && ident APP_DB_NAME "$APP_DB_NAME" && ident APP_DB_USER "$APP_DB_USER" || return 1
  [ "$APP_DB_USER" != "$SUPERUSER" ] || { log "APP_DB_USER must not be the superuser"; return 1; }
  readable SUPERUSER_PASSWORD_FILE "$SUPERUSER_PASSWORD_FILE" && readable APP_DB_PASSWORD_FILE "$APP_DB_PASSWORD_FILE" || return 1
  if [ -n "${MONITORING_ROLE:-}" ]; then
    ident MONITORING_ROLE "$MONITORING_ROLE" && readable MONITORING_PASSWORD_FILE "${MONITORING_PASSWORD_FILE:-}" || return 1
    [[ "${MONITORING_ROLE_CONNECTION_LIMIT:-}" =~ ^[0-9]{1,4}$ ]] || { log "MONITORING_ROLE_CONNECTION_LIMIT is not a number"; return 1; }
  fi
  if [ -n "${REPLICATION_USER:-}" ]; then
    ident REPLICATION_USER "$REPLICATION_USER" && readable REPLICATION_PASSWORD_FILE "${REPLICATION_PASSWORD_FILE:-}" || return 1
    for slot in ${REPLICATION_SLOTS:-}; do [[ "$slot" =~ ^[a-z0-9_]{1,63}$ ]] || { log "bad slot name \"$slot\""; return 1; }; done
  fi
}

# libpq reads the superuser's password from a 0600 file (':' and '\' escaped as .pgpass wants).
write_passfile() {
  PGPASSFILE="$WORK_DIR/pgpass"
  (umask 077 && : >"$PGPASSFILE")
  local password
  password="$(cat "$SUPERUSER_PASSWORD_FILE")"
  password="${password//\\/\\\\}"
  printf '*:*:*:%s:%s\n' "$SUPERUSER" "${password//:/\\:}" >"$PGPASSFILE"
  export PGPASSFILE
}

# Settings every superuser session starts with, sent in the startup packet (libpq's PGOPTIONS):
# client-supplied options take precedence over ALTER DATABASE/ROLE ... SET (PostgreSQL's
# InitPostgres applies them as PGC_S_CLIENT; process_settings's per-database and per-role values
# rank below), so nothing the app role set on its database is in force for a single statement.
# search_path: pg_catalog only, pg_temp explicitly last (PostgreSQL's advice for SECURITY DEFINER
# functions; never "$user", never public). The rest keeps the reconciler's statements out of
# logs and statistics and undoes settings the app role could use to make passes fail.
SUPERUSER_SESSION_OPTIONS="-c search_path=pg_catalog,pg_temp -c standard_conforming_strings=on -c default_transaction_read_only=off -c statement_timeout=0 -c log_statement=none -c log_min_duration_statement=-1 -c log_min_duration_sample=-1 -c log_transaction_sample_rate=0 -c log_min_error_statement=panic -c pg_stat_statements.track=none -c auto_explain.log_min_duration=-1"

psql_as_superuser() {
  PGOPTIONS="$SUPERUSER_SESSION_OPTIONS" psql -X -q -v ON_ERROR_STOP=1 --no-password --username "$SUPERUSER" --set=VERBOSITY=terse "$@"
}

# SCRAM-SHA-256 verifier of the password in file $1 (one trailing newline dropped, as psql's
# backquote did), in the form PostgreSQL stores: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
# (src/common/scram-common.c scram_build_secret; RFC 5802/7677: SaltedPassword =
# PBKDF2-HMAC-SHA-256(password, salt, iterations), ClientKey = HMAC(SaltedPassword, "Client Key"),
# StoredKey = SHA-256(ClientKey), ServerKey = HMAC(SaltedPassword, "Server Key")), with a 16-byte
# random salt and 4096 iterations as libpq's PQencryptPasswordConn uses (SCRAM_DEFAULT_SALT_LEN,
# SCRAM_DEFAULT_ITERATIONS). When $SCRAM_EXISTING is a verifier of this same password it is
# printed unchanged, so an unchanged secret leaves pg_authid alone. The server runs SASLprep
# (pg_saslprep) on passwords, which leaves pure ASCII as it is; other passwords are refused here
# rather than hashed differently from the server. perl with Digest::SHA is in the Debian postgres
# image (postgresql-common depends on perl); python3 is the fallback (the Alpine backup image).
SCRAM_PERL='use strict; use Digest::SHA qw(hmac_sha256 sha256); use MIME::Base64 qw(encode_base64 decode_base64);
open(my $f, "<:raw", $ARGV[0]) or die "cannot read $ARGV[0]\n"; local $/; my $pw = <$f> // ""; $pw =~ s/\n\z//;
die "the password in $ARGV[0] is not ASCII\n" if $pw =~ /[^\x00-\x7f]/;
sub verifier { my ($salt, $iter) = @_; my $u = hmac_sha256($salt . pack("N", 1), $pw); my $h = $u;
  for (2 .. $iter) { $u = hmac_sha256($u, $pw); $h ^= $u; }
  return sprintf("SCRAM-SHA-256\$%d:%s\$%s:%s", $iter, encode_base64($salt, ""), encode_base64(sha256(hmac_sha256("Client Key", $h)), ""), encode_base64(hmac_sha256("Server Key", $h), "")); }
my $old = $ENV{SCRAM_EXISTING} // "";
if ($old =~ m{^SCRAM-SHA-256\$(\d{1,7}):([A-Za-z0-9+/=]+)\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+\z} && verifier(decode_base64($2), $1) eq $old) { print $old; exit 0; }
open(my $r, "<:raw", "/dev/urandom") or die "cannot read /dev/urandom\n"; read($r, my $salt, 16) == 16 or die "short read from /dev/urandom\n";
print verifier($salt, 4096);'
SCRAM_PYTHON='import base64, hashlib, hmac, os, re, sys
pw = open(sys.argv[1], "rb").read()
pw = pw[:-1] if pw.endswith(b"\n") else pw
if any(b > 127 for b in pw): sys.exit("the password in %s is not ASCII" % sys.argv[1])
def verifier(salt, it):
    salted = hashlib.pbkdf2_hmac("sha256", pw, salt, it, 32)
    key = lambda name: hmac.new(salted, name, hashlib.sha256).digest()
    b64 = lambda b: base64.b64encode(b).decode()
    return "SCRAM-SHA-256$%d:%s$%s:%s" % (it, b64(salt), b64(hashlib.sha256(key(b"Client Key")).digest()), b64(key(b"Server Key")))
old = os.environ.get("SCRAM_EXISTING", "")
m = re.match(r"^SCRAM-SHA-256\$(\d{1,7}):([A-Za-z0-9+/=]+)\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+\Z", old)
if m and verifier(base64.b64decode(m.group(2)), int(m.group(1))) == old: sys.stdout.write(old); sys.exit(0)
sys.stdout.write(verifier(os.urandom(16), 4096))'
scram_verifier() { # password-file; env SCRAM_EXISTING
  if perl -MDigest::SHA -MMIME::Base64 -e 1 2>/dev/null; then
    perl -e "$SCRAM_PERL" "$1"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c "$SCRAM_PYTHON" "$1"
  else
    log "cannot compute SCRAM verifiers: neither perl with Digest::SHA nor python3 is in this image"
    return 1
  fi
}

# Writes $WORK_DIR/<role>.verifier for each "role password-file" pair, reusing the role's current
# verifier (from pg_authid, read as the superuser) when the password is unchanged.
write_verifiers() { # role file [role file ...]
  local roles="" role existing i
  local -a pairs=("$@")
  for ((i = 0; i < ${#pairs[@]}; i += 2)); do roles="$roles ${pairs[i]}"; done
  psql_as_superuser --dbname postgres -At -F ' ' --set=roles="$roles" >"$WORK_DIR/current" <<'SQL' || return 1
SELECT rolname, rolpassword FROM pg_catalog.pg_authid
 WHERE rolname OPERATOR(pg_catalog.=) ANY (pg_catalog.string_to_array(pg_catalog.btrim(:'roles'), ' ')::pg_catalog.name[])
   AND rolpassword IS NOT NULL;
SQL
  for ((i = 0; i < ${#pairs[@]}; i += 2)); do
    role="${pairs[i]}"
    existing="$(awk -v role="$role" '$1 == role { print $2 }' "$WORK_DIR/current")"
    SCRAM_EXISTING="$existing" scram_verifier "${pairs[i + 1]}" >"$WORK_DIR/$role.verifier" || { log "cannot compute the SCRAM verifier for $role"; return 1; }
  done
}

# Everything the plan says, in one idempotent pass. Returns non-zero, with psql's terse error on
# stderr, when anything fails; nothing here can print a password.
reconcile_once() {
  check_inputs || return 1
  WORK_DIR="$(mktemp -d)"
  trap 'rm -rf "$WORK_DIR"' RETURN
  [[ "$WORK_DIR" != *"'"* ]] || { log "quotes in the temporary directory's path"; return 1; }
  write_passfile
  pg_isready -q -h "$PGHOST" -p "$PGPORT" -U "$SUPERUSER" -d postgres -t 5 || { log "PostgreSQL at $PGHOST:$PGPORT is not accepting connections yet"; return 1; }
  local -a passwords=("$APP_DB_USER" "$APP_DB_PASSWORD_FILE")
  [ -z "${MONITORING_ROLE:-}" ] || passwords+=("$MONITORING_ROLE" "$MONITORING_PASSWORD_FILE")
  [ -z "${REPLICATION_USER:-}" ] || passwords+=("$REPLICATION_USER" "$REPLICATION_PASSWORD_FILE")
  write_verifiers "${passwords[@]}" || return 1

  psql_as_superuser --dbname postgres \
    --set=db="$APP_DB_NAME" --set=app="$APP_DB_USER" \
    --set=monitor="${MONITORING_ROLE:-}" --set=monitor_limit="${MONITORING_ROLE_CONNECTION_LIMIT:-3}" \
    --set=replicator="${REPLICATION_USER:-}" --set=slots="${REPLICATION_SLOTS:-}" <<SQL
SET client_min_messages = warning;
-- The application database (the official image creates POSTGRES_DB; an adopted cluster has it).
SELECT pg_catalog.format('CREATE DATABASE %I', :'db') WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname OPERATOR(pg_catalog.=) :'db') \gexec
-- The application role: its password's verifier, no privileges beyond its own objects.
\set password \`cat '$WORK_DIR/$APP_DB_USER.verifier'\`
SELECT pg_catalog.format('CREATE ROLE %I LOGIN', :'app') WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) :'app') \gexec
SELECT pg_catalog.format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L', :'app', :'password') \gexec
\unset password
SELECT pg_catalog.format('ALTER DATABASE %I OWNER TO %I', :'db', :'app') \gexec
-- The read-only monitoring role, when monitoring runs.
SELECT :'monitor' OPERATOR(pg_catalog.<>) '' AS with_monitor \gset
\if :with_monitor
\set password \`cat '$WORK_DIR/${MONITORING_ROLE:-none}.verifier'\`
SELECT pg_catalog.format('CREATE ROLE %I LOGIN', :'monitor') WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) :'monitor') \gexec
SELECT pg_catalog.format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT %s PASSWORD %L', :'monitor', :'monitor_limit', :'password') \gexec
\unset password
SELECT pg_catalog.format('ALTER ROLE %I SET default_transaction_read_only = on', :'monitor') \gexec
SELECT pg_catalog.format('ALTER ROLE %I SET statement_timeout = %L', :'monitor', '10s') \gexec
SELECT pg_catalog.format('GRANT pg_monitor TO %I', :'monitor') \gexec
\endif
-- The replicas' role and one physical slot per replica task, on tiers that have replicas. WAL is
-- reserved from creation: pg_basebackup -S streams from the backup's start LSN.
SELECT :'replicator' OPERATOR(pg_catalog.<>) '' AS with_replication \gset
\if :with_replication
\set password \`cat '$WORK_DIR/${REPLICATION_USER:-none}.verifier'\`
SELECT pg_catalog.format('CREATE ROLE %I LOGIN REPLICATION', :'replicator') WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) :'replicator') \gexec
SELECT pg_catalog.format('ALTER ROLE %I WITH LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'replicator', :'password') \gexec
\unset password
SELECT pg_catalog.count(pg_catalog.pg_create_physical_replication_slot(slot, true)) AS slots_created
  FROM pg_catalog.unnest(pg_catalog.string_to_array(:'slots', ' ')) AS slot
 WHERE slot OPERATOR(pg_catalog.<>) '' AND NOT EXISTS (SELECT FROM pg_catalog.pg_replication_slots WHERE slot_name OPERATOR(pg_catalog.=) slot) \gset
\endif
SQL

  # Inside the application database: the public schema and every object in it belong to the app
  # role (an adopted cluster's tables were created by the superuser). Sequences owned by a table
  # column follow their table; ALTER on them directly is refused. ALTER ... OWNER fires no trigger
  # and evaluates no expression; names come from regclass/regprocedure/regtype output, quoted by
  # the server and schema-qualified (public is not on this session's search_path).
  psql_as_superuser --dbname "$APP_DB_NAME" --set=app="$APP_DB_USER" <<'SQL'
SET client_min_messages = warning;
SELECT oid AS app_oid FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) :'app' \gset
SELECT pg_catalog.format('ALTER SCHEMA public OWNER TO %I', :'app') \gexec
SELECT pg_catalog.format('ALTER %s %s OWNER TO %I',
              CASE c.relkind WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'TABLE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' END,
              c.oid::pg_catalog.regclass, :'app')
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
 WHERE n.nspname OPERATOR(pg_catalog.=) 'public' AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,v,m,S,f}'::pg_catalog."char"[])
   AND c.relowner OPERATOR(pg_catalog.<>) :'app_oid'::pg_catalog.oid
   AND NOT (c.relkind OPERATOR(pg_catalog.=) 'S' AND EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid OPERATOR(pg_catalog.=) c.oid AND d.deptype OPERATOR(pg_catalog.=) ANY ('{a,i}'::pg_catalog."char"[])))
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid OPERATOR(pg_catalog.=) c.oid AND d.deptype OPERATOR(pg_catalog.=) 'e')
 ORDER BY c.relkind DESC, c.oid \gexec
SELECT pg_catalog.format('ALTER ROUTINE %s OWNER TO %I', p.oid::pg_catalog.regprocedure, :'app')
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
 WHERE n.nspname OPERATOR(pg_catalog.=) 'public' AND p.proowner OPERATOR(pg_catalog.<>) :'app_oid'::pg_catalog.oid
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e') \gexec
SELECT pg_catalog.format('ALTER TYPE %s OWNER TO %I', t.oid::pg_catalog.regtype, :'app')
  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.typnamespace
 WHERE n.nspname OPERATOR(pg_catalog.=) 'public' AND t.typtype OPERATOR(pg_catalog.=) ANY ('{e,d,r}'::pg_catalog."char"[]) AND t.typowner OPERATOR(pg_catalog.<>) :'app_oid'::pg_catalog.oid
   AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass AND d.objid OPERATOR(pg_catalog.=) t.oid AND d.deptype OPERATOR(pg_catalog.=) 'e') \gexec
SQL
}

mark_success() {
  mkdir -p "$STATE_DIR"
  date -u +%s >"$STATE_DIR/last-success"
}

health() {
  local at now
  at="$(cat "$STATE_DIR/last-success" 2>/dev/null || true)"
  now="$(date -u +%s)"
  if [ -n "$at" ] && [ $((now - at)) -le $((INTERVAL * 3)) ]; then
    echo "healthy: roles reconciled $((now - at)) s ago"
    return 0
  fi
  echo "unhealthy: no successful reconcile in the last $((INTERVAL * 3)) s; see the service log"
  return 1
}

# Sleeps are waited on in the background so SIGTERM (docker stop) ends the loop at once.
loop() {
  trap 'log "stopping"; exit 0' TERM INT
  local delay=2 reported=""
  while true; do
    local started="$SECONDS"
    if ( reconcile_once ); then
      mark_success
      [ -n "$reported" ] || log "roles, ownership and slots reconciled in $((SECONDS - started)) s; again every ${INTERVAL} s"
      reported=1
      delay="$INTERVAL"
    else
      log "reconcile failed; retrying in ${delay} s"
      reported=""
      delay=$(( delay < 30 ? delay * 2 : 30 ))
    fi
    sleep "$delay" &
    wait $! || true
  done
}

case "${1:-loop}" in
  loop) loop ;;
  once) if ( reconcile_once ); then mark_success; log "reconciled"; else exit 1; fi ;;
  health) health ;;
  *) log "usage: reconcile.sh [loop|once|health]"; exit 2 ;;
esac
