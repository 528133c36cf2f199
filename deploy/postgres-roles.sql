-- The PostgreSQL application role: it logs in, owns one schema and nothing else.
--
-- Run once per database as a superuser (or a role with CREATEROLE that owns the
-- database), connected to the application's database; running it again is harmless:
--
--   psql -v ON_ERROR_STOP=1 -v app_role=slack_events -v app_password="$PASSWORD" \
--        -v app_database=slack_events -d slack_events -f deploy/postgres-roles.sql
--
-- Then migrate and run as that role (database.postgres.user = app_role); its
-- search_path is its own schema, so the tables, Alembic's version table and the
-- temporary COPY staging table of bulk writes all stay there. The role cannot create
-- databases, roles or schemas, and has no rights in "public".

\set ON_ERROR_STOP on

-- CREATE ROLE has no IF NOT EXISTS; \gexec runs the statement only when needed.
SELECT format('CREATE ROLE %I LOGIN', :'app_role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_role') \gexec

ALTER ROLE :"app_role" WITH LOGIN PASSWORD :'app_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT;

-- Only connecting and temporary tables (bulk message writes COPY into one) in this
-- database; nobody else gets CONNECT by default.
REVOKE ALL ON DATABASE :"app_database" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"app_database" TO :"app_role";

-- "public" is nobody's to write into (PostgreSQL 15 already defaults to this).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- The one schema the role owns; named after it, so "$user" in any search_path finds it.
CREATE SCHEMA IF NOT EXISTS :"app_role" AUTHORIZATION :"app_role";
ALTER SCHEMA :"app_role" OWNER TO :"app_role";
ALTER ROLE :"app_role" IN DATABASE :"app_database" SET search_path = :"app_role";
