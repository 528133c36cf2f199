#!/usr/bin/env bash
# Runs once, when the postgres container initializes an empty volume
# (/docker-entrypoint-initdb.d): POSTGRES_DB is the application database; this
# creates Dagster's own storage database beside it, owned by the same user.
set -euo pipefail
: "${DAGSTER_POSTGRES_DB:?set DAGSTER_POSTGRES_DB (the Dagster storage database name)}"
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  --set db="$DAGSTER_POSTGRES_DB" --set owner="${POSTGRES_USER:-postgres}" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')\gexec
SQL
