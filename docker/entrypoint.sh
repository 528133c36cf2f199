#!/usr/bin/env bash
# Entrypoint of every container of the image: wait for PostgreSQL (bounded), migrate
# the application database, then exec the given command (the gRPC code server,
# dagster-webserver, dagster-daemon, or a run that DockerRunLauncher starts).
#
#   SLACK_EVENTS_DB_WAIT_S   seconds to wait for each PostgreSQL server (default 60)
#   SLACK_EVENTS_MIGRATE     1 (default): `slack-events migrate` before the command; 0: skip
#                            (the compose file migrates in the code server only, so the
#                            webserver, the daemon and run containers never race it)
#   DAGSTER_POSTGRES_HOST/_PORT                        Dagster's storage (when set)
#   SLACK_EVENTS_DATABASE__TYPE, ..._POSTGRES__HOST/_PORT  the application database
set -euo pipefail

wait_s="${SLACK_EVENTS_DB_WAIT_S:-60}"
if ! [[ "$wait_s" =~ ^[0-9]+$ ]]; then
  echo "entrypoint: SLACK_EVENTS_DB_WAIT_S must be a whole number of seconds (got '$wait_s')" >&2
  exit 2
fi

# wait_for_postgres HOST PORT HOST_VAR PORT_VAR
wait_for_postgres() {
  local host="$1" port="$2" host_var="$3" port_var="$4" status=0
  local deadline=$((SECONDS + wait_s))
  while true; do
    status=0
    pg_isready -h "$host" -p "$port" -t 2 -q || status=$?
    [ "$status" -eq 0 ] && return 0
    if [ "$status" -eq 3 ]; then
      echo "entrypoint: cannot check PostgreSQL at $host:$port (bad parameters); fix $host_var / $port_var" >&2
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      local what="no response"
      [ "$status" -eq 1 ] && what="rejecting connections (still starting up?)"
      echo "entrypoint: PostgreSQL at $host:$port did not accept connections within ${wait_s}s ($what)." >&2
      echo "entrypoint: check that the server is running and that $host_var and $port_var name it; raise SLACK_EVENTS_DB_WAIT_S to wait longer." >&2
      exit 1
    fi
    sleep 1
  done
}

waited=""
if [ -n "${DAGSTER_POSTGRES_HOST:-}" ]; then
  wait_for_postgres "$DAGSTER_POSTGRES_HOST" "${DAGSTER_POSTGRES_PORT:-5432}" \
    DAGSTER_POSTGRES_HOST DAGSTER_POSTGRES_PORT
  waited="$DAGSTER_POSTGRES_HOST:${DAGSTER_POSTGRES_PORT:-5432}"
fi
if [ "${SLACK_EVENTS_DATABASE__TYPE:-sqlite}" = "postgres" ]; then
  app_host="${SLACK_EVENTS_DATABASE__POSTGRES__HOST:-127.0.0.1}"
  app_port="${SLACK_EVENTS_DATABASE__POSTGRES__PORT:-5432}"
  if [ "$app_host:$app_port" != "$waited" ]; then
    wait_for_postgres "$app_host" "$app_port" \
      SLACK_EVENTS_DATABASE__POSTGRES__HOST SLACK_EVENTS_DATABASE__POSTGRES__PORT
  fi
fi

if [ "${SLACK_EVENTS_MIGRATE:-1}" = "1" ]; then
  # Idempotent: a database already at head is left as it is.
  slack-events migrate
fi

if [ "$#" -eq 0 ]; then
  echo "entrypoint: no command given; e.g. dagster api grpc -m slack_events_dagster.definitions -h 0.0.0.0 -p 4000" >&2
  exit 2
fi
exec "$@"
