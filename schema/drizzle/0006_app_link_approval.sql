ALTER TABLE "emergency_contacts" ADD COLUMN "app_link_requested_by" uuid;--> statement-breakpoint
ALTER TABLE "emergency_contacts" ADD COLUMN "app_link_requested_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "emergency_contacts" ADD CONSTRAINT "emergency_contacts_app_link_requested_by_users_id_fk" FOREIGN KEY ("app_link_requested_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "emergency_contacts_app_link_requested_by_idx" ON "emergency_contacts" USING btree ("app_link_requested_by") WHERE "emergency_contacts"."app_link_requested_by" is not null;--> statement-breakpoint
-- Hand-written (issue #13, SPEC SE13): a link made before approval existed came from anyone holding the alert
-- link, so it becomes a request the owner must approve. Each owner with such links takes their next version and
-- stamps it on those contacts, so their devices pull `appLinked: false` (a migration is a writer of a pulled
-- table too); the owner's audit log says the system did it.
INSERT INTO "user_versions" ("user_id")
SELECT DISTINCT "user_id" FROM "emergency_contacts" WHERE "contact_user_id" IS NOT NULL AND "deleted_at" IS NULL
ON CONFLICT ("user_id") DO NOTHING;--> statement-breakpoint
WITH "bumped" AS (
  UPDATE "user_versions" "v" SET "version" = "v"."version" + 1
  WHERE "v"."user_id" IN (
    SELECT "user_id" FROM "emergency_contacts" WHERE "contact_user_id" IS NOT NULL AND "deleted_at" IS NULL
  )
  RETURNING "v"."user_id", "v"."version"
), "moved" AS (
  UPDATE "emergency_contacts" "c" SET
    "app_link_requested_by" = "c"."contact_user_id",
    "app_link_requested_at" = now(),
    "contact_user_id" = NULL,
    "version" = "b"."version",
    "updated_at" = now()
  FROM "bumped" "b"
  WHERE "c"."user_id" = "b"."user_id" AND "c"."contact_user_id" IS NOT NULL AND "c"."deleted_at" IS NULL
  RETURNING "c"."user_id", "c"."id", "c"."app_link_requested_by"
)
INSERT INTO "activity_logs" ("user_id", "actor_kind", "action", "target_table", "target_id", "metadata")
SELECT "user_id", 'system', 'contact.app_link_needs_approval', 'emergency_contacts', "id"::text,
  jsonb_build_object('account', "app_link_requested_by")
FROM "moved";
