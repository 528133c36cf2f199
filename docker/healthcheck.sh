#!/usr/bin/env bash
# HEALTHCHECK of the image, by the role the container plays (SLACK_EVENTS_ROLE):
#   code-server  the gRPC server answers its health check (DAGSTER_GRPC_PORT, default 4000)
#   webserver    GET /server_info answers 200 (DAGSTER_WEBSERVER_PORT inside, default 3000)
#   daemon       every daemon sent a heartbeat recently (dagster-daemon liveness-check)
#   listener     (Socket Mode) healthy while it runs: it reconnects by itself, and the
#                channel_freshness check says when channels stop being read
# Run containers and one-off commands have no role: healthy while they run.
set -euo pipefail
case "${SLACK_EVENTS_ROLE:-}" in
  code-server)
    exec dagster api grpc-health-check -h 127.0.0.1 -p "${DAGSTER_GRPC_PORT:-4000}"
    ;;
  webserver)
    exec python -c 'import os, sys, urllib.request
port = os.environ.get("DAGSTER_WEBSERVER_PORT", "3000")
with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=8) as r:
    sys.exit(0 if r.status == 200 else 1)'
    ;;
  daemon)
    exec dagster-daemon liveness-check
    ;;
  *)
    exit 0
    ;;
esac
