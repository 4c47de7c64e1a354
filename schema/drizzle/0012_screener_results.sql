CREATE TABLE "screener_results" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"screener" text NOT NULL,
	"answers" smallint[] NOT NULL,
	"total" smallint NOT NULL,
	"completed_at" timestamp with time zone NOT NULL,
	"version" bigint DEFAULT 0 NOT NULL,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "screener_results_id_v7" CHECK (substr("screener_results"."id"::text, 15, 1) = '7'),
	CONSTRAINT "screener_results_answers" CHECK (("screener_results"."screener" = 'phq9' and cardinality("screener_results"."answers") = 9 and "screener_results"."total" between 0 and 27)
        or ("screener_results"."screener" = 'gad7' and cardinality("screener_results"."answers") = 7 and "screener_results"."total" between 0 and 21))
);
--> statement-breakpoint
ALTER TABLE "screener_results" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "screener_results" ADD CONSTRAINT "screener_results_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "screener_results_user_completed_idx" ON "screener_results" USING btree ("user_id","completed_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "screener_results_user_version_idx" ON "screener_results" USING btree ("user_id","version");--> statement-breakpoint
CREATE POLICY "own_rows" ON "screener_results" AS PERMISSIVE FOR ALL TO "authenticated" USING ("screener_results"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid) WITH CHECK ("screener_results"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);