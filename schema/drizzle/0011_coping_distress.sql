ALTER TABLE "coping_tools_usage" ADD COLUMN "distress_before" smallint;--> statement-breakpoint
ALTER TABLE "coping_tools_usage" ADD COLUMN "distress_after" smallint;--> statement-breakpoint
ALTER TABLE "coping_tools_usage" ADD CONSTRAINT "coping_tools_usage_distress" CHECK (("coping_tools_usage"."distress_before" is null or "coping_tools_usage"."distress_before" between 0 and 10)
        and ("coping_tools_usage"."distress_after" is null or "coping_tools_usage"."distress_after" between 0 and 10));