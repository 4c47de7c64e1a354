CREATE TABLE "inbound_sms" (
	"message_sid" text PRIMARY KEY NOT NULL,
	"user_id" uuid,
	"received_at" timestamp with time zone NOT NULL,
	"reply" text,
	CONSTRAINT "inbound_sms_message_sid" CHECK ("inbound_sms"."message_sid" ~ '^[A-Z]{2}[0-9a-fA-F]{32}$')
);
--> statement-breakpoint
ALTER TABLE "inbound_sms" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "inbound_sms" ADD CONSTRAINT "inbound_sms_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "inbound_sms_received_idx" ON "inbound_sms" USING btree ("received_at");--> statement-breakpoint
CREATE POLICY "own_rows_read" ON "inbound_sms" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("inbound_sms"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);