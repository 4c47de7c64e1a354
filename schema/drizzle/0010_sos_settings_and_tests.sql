CREATE TABLE "sos_test_messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"test_id" uuid NOT NULL,
	"contact_id" uuid,
	"contact_name" text NOT NULL,
	"to_address" text NOT NULL,
	"body" text NOT NULL,
	"provider" text NOT NULL,
	"provider_message_id" text,
	"status" "alert_status" DEFAULT 'pending' NOT NULL,
	"status_history" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"error_code" text,
	"reply_body" text,
	"replied_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "sos_test_messages_id_v7" CHECK (substr("sos_test_messages"."id"::text, 15, 1) = '7')
);
--> statement-breakpoint
ALTER TABLE "sos_test_messages" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "user_settings" ADD COLUMN "region" text;--> statement-breakpoint
ALTER TABLE "user_settings" ADD COLUMN "silent_sos" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "sos_test_messages" ADD CONSTRAINT "sos_test_messages_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sos_test_messages" ADD CONSTRAINT "sos_test_messages_contact_id_emergency_contacts_id_fk" FOREIGN KEY ("contact_id") REFERENCES "public"."emergency_contacts"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "sos_test_messages_provider_message_key" ON "sos_test_messages" USING btree ("provider","provider_message_id");--> statement-breakpoint
CREATE INDEX "sos_test_messages_user_idx" ON "sos_test_messages" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "sos_test_messages_to_idx" ON "sos_test_messages" USING btree ("to_address","created_at");--> statement-breakpoint
ALTER TABLE "user_settings" ADD CONSTRAINT "user_settings_region" CHECK ("user_settings"."region" ~ '^[A-Z]{2}$');--> statement-breakpoint
CREATE POLICY "own_rows_read" ON "sos_test_messages" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("sos_test_messages"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);