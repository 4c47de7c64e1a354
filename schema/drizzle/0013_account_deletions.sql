CREATE TABLE "account_deletions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"subject_sha256" "bytea" NOT NULL,
	"session_hashes" text[] DEFAULT '{}'::text[] NOT NULL,
	"requested_at" timestamp with time zone NOT NULL,
	"completed_at" timestamp with time zone NOT NULL,
	"rows_deleted" jsonb NOT NULL,
	"files_deleted" integer NOT NULL,
	CONSTRAINT "account_deletions_subject_key" UNIQUE("subject_sha256"),
	CONSTRAINT "account_deletions_subject_length" CHECK (octet_length("account_deletions"."subject_sha256") = 32)
);
--> statement-breakpoint
ALTER TABLE "account_deletions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "gone_alert_links" (
	"token_sha256" "bytea" PRIMARY KEY NOT NULL,
	"deletion_id" uuid NOT NULL,
	CONSTRAINT "gone_alert_links_hash_length" CHECK (octet_length("gone_alert_links"."token_sha256") = 32)
);
--> statement-breakpoint
ALTER TABLE "gone_alert_links" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "gone_alert_links" ADD CONSTRAINT "gone_alert_links_deletion_id_account_deletions_id_fk" FOREIGN KEY ("deletion_id") REFERENCES "public"."account_deletions"("id") ON DELETE cascade ON UPDATE no action;