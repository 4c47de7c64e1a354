-- Hand-written: the role every user request runs as (see schema/src/db/rls.ts).
-- Roles are cluster-wide, so another database on the same server (or Supabase/Neon) may already have it, and
-- two migrations may race to create it: both cases are fine.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;
--> statement-breakpoint
-- The migrating role must be able to SET ROLE authenticated inside a request's transaction (Neon's owner role is
-- not a superuser). A superuser needs no membership, and PostgreSQL 16+ refuses to grant a role to itself twice.
DO $$
BEGIN
  IF NOT pg_has_role(current_user, 'authenticated', 'MEMBER') THEN
    EXECUTE format('GRANT authenticated TO %I', current_user);
  END IF;
END
$$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO authenticated;
--> statement-breakpoint
-- Tables and sequences created later by this role are usable by `authenticated`; RLS policies decide which rows.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO authenticated;
--> statement-breakpoint
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO authenticated;
