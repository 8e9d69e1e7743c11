#!/bin/sh
# Stand-in for edoburu/pgbouncer's /entrypoint.sh, running Debian's PgBouncer as uid/gid 70 (the
# image's `postgres` user, which components/pgbouncer.ts mounts the userlist for). The image
# writes pgbouncer.ini from DB_* / DATABASE_URL variables only when the file does not exist; the
# stack always mounts its own, which is the only path implemented here.
set -e
ini=/etc/pgbouncer/pgbouncer.ini
if [ ! -f "$ini" ]; then
  echo "pgbouncer stand-in: $ini is missing; generating it from DB_* variables is not implemented (the stack mounts its own)" >&2
  exit 1
fi
echo "Starting $*..."
exec "$@"
