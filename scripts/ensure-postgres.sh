#!/usr/bin/env bash
# Makes a PostgreSQL server answer on 127.0.0.1:5432 (trust auth, database `test`) for the tests.
# On this project's machine kind it is preinstalled and usually running; this starts it if it is
# stopped, and installs it from Debian's packages if it is missing. Prints what it did.
set -euo pipefail

ready() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

if ! command -v pg_isready >/dev/null 2>&1 || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  echo "ensure-postgres: installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

if ! ready; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "ensure-postgres: starting cluster $version/main"
  conf=/etc/postgresql/$version/main
  grep -q "^listen_addresses = '127.0.0.1'" "$conf/postgresql.conf" || echo "listen_addresses = '127.0.0.1'" >> "$conf/postgresql.conf"
  grep -q "^host all all 127.0.0.1/32 trust" "$conf/pg_hba.conf" || sed -i '1i host all all 127.0.0.1/32 trust' "$conf/pg_hba.conf"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 50); do ready && break; sleep 0.2; done
fi

ready || { echo "ensure-postgres: PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }
if ! psql -h 127.0.0.1 -U postgres -d test -Atc 'select 1' >/dev/null 2>&1; then
  psql -h 127.0.0.1 -U postgres -d postgres -c 'CREATE DATABASE test' >/dev/null
fi
echo "ensure-postgres: ready on 127.0.0.1:5432"
