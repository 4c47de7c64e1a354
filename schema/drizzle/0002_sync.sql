CREATE TABLE "contact_merges" (
	"merged_id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"survivor_id" uuid NOT NULL,
	"version" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "contact_merges" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "field_clocks" (
	"user_id" uuid NOT NULL,
	"table_name" text NOT NULL,
	"row_id" uuid NOT NULL,
	"hlcs" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "field_clocks_user_id_table_name_row_id_pk" PRIMARY KEY("user_id","table_name","row_id"),
	CONSTRAINT "field_clocks_table" CHECK ("field_clocks"."table_name" in ('mood_entries', 'emergency_contacts', 'user_settings'))
);
--> statement-breakpoint
ALTER TABLE "field_clocks" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "incident_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"incident_id" uuid NOT NULL,
	"type" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"latitude" double precision,
	"longitude" double precision,
	"accuracy_meters" real,
	"located_at" timestamp with time zone,
	"contact_ids" uuid[],
	"sent" boolean,
	"duress" boolean DEFAULT false NOT NULL,
	"outcome" text NOT NULL,
	"version" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "incident_events_id_v7" CHECK (substr("incident_events"."id"::text, 15, 1) = '7'),
	CONSTRAINT "incident_events_type" CHECK ("incident_events"."type" in ('location', 'acknowledged', 'resolved', 'cancelled', 'sms_composer_opened', 'sms_user_reported')),
	CONSTRAINT "incident_events_outcome" CHECK ("incident_events"."outcome" in ('applied', 'absorbed', 'illegal')),
	CONSTRAINT "incident_events_location" CHECK (("incident_events"."latitude" is null) = ("incident_events"."longitude" is null)
        and ("incident_events"."latitude" is null or ("incident_events"."latitude" between -90 and 90 and "incident_events"."longitude" between -180 and 180)))
);
--> statement-breakpoint
ALTER TABLE "incident_events" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "mood_revisions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"mood_entry_id" uuid NOT NULL,
	"previous" jsonb NOT NULL,
	"replaced_by_hlc" text NOT NULL,
	"replaced_at_version" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "mood_revisions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "mutation_errors" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"client_id" uuid NOT NULL,
	"lane" text NOT NULL,
	"seq" bigint NOT NULL,
	"name" text NOT NULL,
	"args" jsonb,
	"code" text NOT NULL,
	"message" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "mutation_errors" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "sync_clients" (
	"user_id" uuid NOT NULL,
	"client_id" uuid NOT NULL,
	"lane" text NOT NULL,
	"last_seq" bigint DEFAULT 0 NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sync_clients_client_id_lane_pk" PRIMARY KEY("client_id","lane"),
	CONSTRAINT "sync_clients_lane" CHECK ("sync_clients"."lane" in ('critical', 'user', 'bulk')),
	CONSTRAINT "sync_clients_last_seq" CHECK ("sync_clients"."last_seq" >= 0)
);
--> statement-breakpoint
ALTER TABLE "sync_clients" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "user_versions" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"version" bigint DEFAULT 0 NOT NULL,
	"purged_through" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "user_versions_non_negative" CHECK ("user_versions"."version" >= 0 and "user_versions"."purged_through" between 0 and "user_versions"."version")
);
--> statement-breakpoint
ALTER TABLE "user_versions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "contact_merges" ADD CONSTRAINT "contact_merges_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contact_merges" ADD CONSTRAINT "contact_merges_survivor_id_emergency_contacts_id_fk" FOREIGN KEY ("survivor_id") REFERENCES "public"."emergency_contacts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "field_clocks" ADD CONSTRAINT "field_clocks_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "incident_events" ADD CONSTRAINT "incident_events_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "incident_events" ADD CONSTRAINT "incident_events_incident_id_emergency_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."emergency_incidents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mood_revisions" ADD CONSTRAINT "mood_revisions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mood_revisions" ADD CONSTRAINT "mood_revisions_mood_entry_id_mood_entries_id_fk" FOREIGN KEY ("mood_entry_id") REFERENCES "public"."mood_entries"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mutation_errors" ADD CONSTRAINT "mutation_errors_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sync_clients" ADD CONSTRAINT "sync_clients_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_versions" ADD CONSTRAINT "user_versions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "contact_merges_user_idx" ON "contact_merges" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "incident_events_incident_idx" ON "incident_events" USING btree ("incident_id","at");--> statement-breakpoint
CREATE INDEX "incident_events_user_version_idx" ON "incident_events" USING btree ("user_id","version");--> statement-breakpoint
CREATE INDEX "mood_revisions_entry_idx" ON "mood_revisions" USING btree ("mood_entry_id","created_at");--> statement-breakpoint
CREATE INDEX "mutation_errors_user_created_idx" ON "mutation_errors" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "mutation_errors_client_idx" ON "mutation_errors" USING btree ("client_id","lane","seq");--> statement-breakpoint
CREATE INDEX "sync_clients_user_idx" ON "sync_clients" USING btree ("user_id");--> statement-breakpoint
CREATE POLICY "own_rows_read" ON "contact_merges" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("contact_merges"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows_append" ON "contact_merges" AS PERMISSIVE FOR INSERT TO "authenticated" WITH CHECK ("contact_merges"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows" ON "field_clocks" AS PERMISSIVE FOR ALL TO "authenticated" USING ("field_clocks"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid) WITH CHECK ("field_clocks"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows_read" ON "incident_events" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("incident_events"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows_append" ON "incident_events" AS PERMISSIVE FOR INSERT TO "authenticated" WITH CHECK ("incident_events"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows_read" ON "mood_revisions" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("mood_revisions"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows_append" ON "mood_revisions" AS PERMISSIVE FOR INSERT TO "authenticated" WITH CHECK ("mood_revisions"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows_read" ON "mutation_errors" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("mutation_errors"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows_append" ON "mutation_errors" AS PERMISSIVE FOR INSERT TO "authenticated" WITH CHECK ("mutation_errors"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows" ON "sync_clients" AS PERMISSIVE FOR ALL TO "authenticated" USING ("sync_clients"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid) WITH CHECK ("sync_clients"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows" ON "user_versions" AS PERMISSIVE FOR ALL TO "authenticated" USING ("user_versions"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid) WITH CHECK ("user_versions"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);