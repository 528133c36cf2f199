# One image for every process of the deployment: the code location (gRPC server),
# dagster-webserver, dagster-daemon and the run containers that DockerRunLauncher
# starts. The command picks the role (see docker-compose.yml); docker/entrypoint.sh
# waits for PostgreSQL and migrates the application database first.
# Build: docker build -t slack-events-dagster:latest .
# No secret is baked in: tokens, keys and passwords come from the environment at run time.
# DAGSTER_EVENT_BATCH_SIZE: Dagster stores a ranged run's per-partition events in batches
# (slack_events_dagster/dagster_storage.py, EVENT_BATCH_SIZE), in every container.
ARG PYTHON_VERSION=3.11.14
FROM python:${PYTHON_VERSION}-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    APP_DIR=/opt/dagster/app \
    DAGSTER_HOME=/opt/dagster/home \
    SLACK_EVENTS_MIGRATIONS=/opt/dagster/app/migrations \
    SLACK_EVENTS_DIGEST__OUTPUT_DIR=/opt/dagster/output \
    SLACK_EVENTS_DIGEST__CALENDAR_PATH=/opt/dagster/output/events.ics \
    DAGSTER_EVENT_BATCH_SIZE=1000

# pg_isready (readiness), psql and pg_dump (operations). Debian's package versions are
# not pinned: bookworm-security replaces them, and an old pin would stop the build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client tini \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 dagster \
    && useradd --system --uid 10001 --gid dagster --home-dir /opt/dagster --shell /usr/sbin/nologin dagster

# Dependencies first (pinned, cached across code changes), then the project itself.
COPY docker/requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt && rm /tmp/requirements.txt

WORKDIR ${APP_DIR}
COPY pyproject.toml README.md alembic.ini ./
COPY slack_events_dagster ./slack_events_dagster
COPY migrations ./migrations
COPY docker ./docker
RUN pip install --no-cache-dir --no-deps . \
    && chmod 0755 docker/entrypoint.sh docker/healthcheck.sh \
    && mkdir -p ${DAGSTER_HOME} /opt/dagster/output \
    && chown -R dagster:dagster /opt/dagster/home /opt/dagster/output

# The deployment's instance and workspace; docker-compose.yml mounts the same files
# read-only, so editing deploy/ needs no rebuild.
COPY deploy/dagster.yaml deploy/workspace.yaml ${DAGSTER_HOME}/

USER 10001:10001
EXPOSE 3000 4000

# Checks whichever role SLACK_EVENTS_ROLE names (code-server, webserver, daemon);
# run containers have no role and are always healthy.
HEALTHCHECK --interval=15s --timeout=10s --start-period=60s --retries=5 \
    CMD ["/opt/dagster/app/docker/healthcheck.sh"]

ENTRYPOINT ["/usr/bin/tini", "--", "/opt/dagster/app/docker/entrypoint.sh"]
CMD ["dagster", "api", "grpc", "-m", "slack_events_dagster.definitions", "-h", "0.0.0.0", "-p", "4000"]
