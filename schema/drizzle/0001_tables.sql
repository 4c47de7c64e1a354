CREATE TYPE "public"."alert_channel" AS ENUM('sms', 'web_push', 'realtime', 'device_sms');--> statement-breakpoint
CREATE TYPE "public"."alert_message_kind" AS ENUM('alert', 'escalation', 'location_update', 'all_clear');--> statement-breakpoint
CREATE TYPE "public"."alert_response" AS ENUM('acknowledged', 'on_my_way', 'cannot_help');--> statement-breakpoint
CREATE TYPE "public"."alert_status" AS ENUM('pending', 'queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'read', 'canceled', 'not_configured', 'composer_opened', 'user_confirmed_sent', 'user_reported_not_sent');--> statement-breakpoint
CREATE TYPE "public"."incident_status" AS ENUM('active', 'acknowledged', 'resolved', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."incident_trigger" AS ENUM('panic_button', 'fall_detected', 'heart_rate_alert', 'check_in_missed');--> statement-breakpoint
CREATE TYPE "public"."insight_kind" AS ENUM('pattern', 'trend', 'recommendation', 'summary');--> statement-breakpoint
CREATE TYPE "public"."media_bucket" AS ENUM('avatars', 'documents', 'exports', 'emergency', 'reports', 'charts', 'backups', 'templates', 'assets');--> statement-breakpoint
CREATE TYPE "public"."subscription_plan" AS ENUM('free', 'plus', 'care_team');--> statement-breakpoint
CREATE TYPE "public"."subscription_status" AS ENUM('active', 'trialing', 'past_due', 'canceled', 'expired');--> statement-breakpoint
CREATE TYPE "public"."system_event_level" AS ENUM('debug', 'info', 'warn', 'error', 'fatal');--> statement-breakpoint
CREATE TYPE "public"."therapy_kind" AS ENUM('therapy', 'psychiatry', 'counselling', 'peer_support', 'crisis_line', 'group');--> statement-breakpoint
CREATE TYPE "public"."therapy_mode" AS ENUM('in_person', 'video', 'phone', 'chat');--> statement-breakpoint
CREATE TYPE "public"."upload_state" AS ENUM('pending', 'uploading', 'uploaded', 'verified', 'failed');--> statement-breakpoint
CREATE TABLE "activity_logs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"actor_user_id" uuid,
	"actor_kind" text DEFAULT 'user' NOT NULL,
	"action" text NOT NULL,
	"target_table" text,
	"target_id" text,
	"ip" "inet",
	"user_agent" text,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "activity_logs_actor_kind" CHECK ("activity_logs"."actor_kind" in ('user', 'contact', 'system')),
	CONSTRAINT "activity_logs_action" CHECK ("activity_logs"."action" ~ '^[a-z_]+(\.[a-z_]+)+$')
);
--> statement-breakpoint
ALTER TABLE "activity_logs" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "ai_insights" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"kind" "insight_kind" NOT NULL,
	"title" text NOT NULL,
	"body" text NOT NULL,
	"evidence" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"period_start" date,
	"period_end" date,
	"generator" text NOT NULL,
	"generated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"seen_at" timestamp with time zone,
	"dismissed_at" timestamp with time zone,
	"helpful" boolean,
	"version" bigint DEFAULT 0 NOT NULL,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_insights_id_v7" CHECK (substr("ai_insights"."id"::text, 15, 1) = '7'),
	CONSTRAINT "ai_insights_period" CHECK ("ai_insights"."period_end" is null or "ai_insights"."period_start" <= "ai_insights"."period_end")
);
--> statement-breakpoint
ALTER TABLE "ai_insights" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "alert_logs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"incident_id" uuid NOT NULL,
	"contact_id" uuid,
	"channel" "alert_channel" NOT NULL,
	"message_kind" "alert_message_kind" NOT NULL,
	"idempotency_key" text NOT NULL,
	"status" "alert_status" DEFAULT 'pending' NOT NULL,
	"status_history" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"provider" text,
	"provider_message_id" text,
	"error_code" text,
	"error_message" text,
	"attempts" smallint DEFAULT 0 NOT NULL,
	"segments" smallint,
	"next_attempt_at" timestamp with time zone,
	"responded_at" timestamp with time zone,
	"response" "alert_response",
	"version" bigint DEFAULT 0 NOT NULL,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "alert_logs_id_v7" CHECK (substr("alert_logs"."id"::text, 15, 1) = '7')
);
--> statement-breakpoint
ALTER TABLE "alert_logs" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "api_usage" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"route" text NOT NULL,
	"requests" integer DEFAULT 0 NOT NULL,
	"rejected" integer DEFAULT 0 NOT NULL,
	"bytes_in" bigint DEFAULT 0 NOT NULL,
	"bytes_out" bigint DEFAULT 0 NOT NULL,
	"sms_sent" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_usage" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "coping_tools_usage" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"tool" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"duration_seconds" integer,
	"completed" boolean DEFAULT false NOT NULL,
	"mood_before" smallint,
	"mood_after" smallint,
	"helpfulness" smallint,
	"incident_id" uuid,
	"version" bigint DEFAULT 0 NOT NULL,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "coping_tools_usage_id_v7" CHECK (substr("coping_tools_usage"."id"::text, 15, 1) = '7'),
	CONSTRAINT "coping_tools_usage_tool" CHECK ("coping_tools_usage"."tool" ~ '^[a-z0-9_]{1,64}$'),
	CONSTRAINT "coping_tools_usage_scales" CHECK (("coping_tools_usage"."duration_seconds" is null or "coping_tools_usage"."duration_seconds" >= 0)
        and ("coping_tools_usage"."mood_before" is null or "coping_tools_usage"."mood_before" between 1 and 5)
        and ("coping_tools_usage"."mood_after" is null or "coping_tools_usage"."mood_after" between 1 and 5)
        and ("coping_tools_usage"."helpfulness" is null or "coping_tools_usage"."helpfulness" between 1 and 5))
);
--> statement-breakpoint
ALTER TABLE "coping_tools_usage" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "emergency_contacts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"name" text NOT NULL,
	"phone_e164" text NOT NULL,
	"email" text,
	"relationship" text,
	"tier" smallint DEFAULT 1 NOT NULL,
	"notify_by_sms" boolean DEFAULT true NOT NULL,
	"contact_user_id" uuid,
	"share_location" boolean DEFAULT true NOT NULL,
	"notes" text,
	"hlc" text,
	"version" bigint DEFAULT 0 NOT NULL,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "emergency_contacts_id_v7" CHECK (substr("emergency_contacts"."id"::text, 15, 1) = '7'),
	CONSTRAINT "emergency_contacts_phone_e164" CHECK ("emergency_contacts"."phone_e164" ~ '^\+[1-9][0-9]{6,14}$'),
	CONSTRAINT "emergency_contacts_tier" CHECK ("emergency_contacts"."tier" between 1 and 3),
	CONSTRAINT "emergency_contacts_name" CHECK (length("emergency_contacts"."name") between 1 and 200)
);
--> statement-breakpoint
ALTER TABLE "emergency_contacts" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "emergency_incidents" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"code" text NOT NULL,
	"trigger" "incident_trigger" NOT NULL,
	"status" "incident_status" DEFAULT 'active' NOT NULL,
	"triggered_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"acknowledged_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"silent_escalation" boolean DEFAULT false NOT NULL,
	"latitude" double precision,
	"longitude" double precision,
	"accuracy_meters" real,
	"located_at" timestamp with time zone,
	"device_context" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"version" bigint DEFAULT 0 NOT NULL,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "emergency_incidents_id_v7" CHECK (substr("emergency_incidents"."id"::text, 15, 1) = '7'),
	CONSTRAINT "emergency_incidents_code" CHECK ("emergency_incidents"."code" ~ '^[A-Z0-9]{4,8}$'),
	CONSTRAINT "emergency_incidents_location" CHECK (("emergency_incidents"."latitude" is null) = ("emergency_incidents"."longitude" is null)
        and ("emergency_incidents"."latitude" is null or ("emergency_incidents"."latitude" between -90 and 90 and "emergency_incidents"."longitude" between -180 and 180))
        and ("emergency_incidents"."accuracy_meters" is null or "emergency_incidents"."accuracy_meters" >= 0))
);
--> statement-breakpoint
ALTER TABLE "emergency_incidents" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "media_files" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid,
	"incident_id" uuid,
	"bucket" "media_bucket" NOT NULL,
	"object_path" text NOT NULL,
	"content_type" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"sha256" text NOT NULL,
	"upload_state" "upload_state" DEFAULT 'pending' NOT NULL,
	"bytes_received" bigint DEFAULT 0 NOT NULL,
	"verified_at" timestamp with time zone,
	"captured_at" timestamp with time zone,
	"latitude" double precision,
	"longitude" double precision,
	"accuracy_meters" real,
	"duration_ms" integer,
	"version" bigint DEFAULT 0 NOT NULL,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "media_files_id_v7" CHECK (substr("media_files"."id"::text, 15, 1) = '7'),
	CONSTRAINT "media_files_owner_path" CHECK (case when "media_files"."bucket" in ('templates', 'assets')
        then "media_files"."user_id" is null
        else "media_files"."user_id" is not null and starts_with("media_files"."object_path", 'user-' || "media_files"."user_id"::text || '/') end),
	CONSTRAINT "media_files_path_shape" CHECK ("media_files"."object_path" !~ '(^/|\.\.|//)' and length("media_files"."object_path") <= 1024),
	CONSTRAINT "media_files_sha256" CHECK ("media_files"."sha256" ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "media_files_size" CHECK ("media_files"."size_bytes" >= 0 and "media_files"."bytes_received" between 0 and "media_files"."size_bytes"),
	CONSTRAINT "media_files_incident_bucket" CHECK ("media_files"."incident_id" is null or "media_files"."bucket" = 'emergency')
);
--> statement-breakpoint
ALTER TABLE "media_files" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "mood_entries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"recorded_at" timestamp with time zone NOT NULL,
	"mood" smallint NOT NULL,
	"energy" smallint,
	"anxiety" smallint,
	"sleep_hours" real,
	"emotions" text[] DEFAULT '{}'::text[] NOT NULL,
	"note" text,
	"analysis" jsonb,
	"hlc" text,
	"version" bigint DEFAULT 0 NOT NULL,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "mood_entries_id_v7" CHECK (substr("mood_entries"."id"::text, 15, 1) = '7'),
	CONSTRAINT "mood_entries_scales" CHECK ("mood_entries"."mood" between 1 and 5 and ("mood_entries"."energy" is null or "mood_entries"."energy" between 1 and 5)
        and ("mood_entries"."anxiety" is null or "mood_entries"."anxiety" between 1 and 5)
        and ("mood_entries"."sleep_hours" is null or "mood_entries"."sleep_hours" between 0 and 24)),
	CONSTRAINT "mood_entries_note_length" CHECK (length("mood_entries"."note") <= 10000)
);
--> statement-breakpoint
ALTER TABLE "mood_entries" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "sensor_readings" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"recorded_at" timestamp with time zone NOT NULL,
	"kind" smallint NOT NULL,
	"value" real NOT NULL,
	CONSTRAINT "sensor_readings_kind" CHECK ("sensor_readings"."kind" between 1 and 7)
);
--> statement-breakpoint
ALTER TABLE "sensor_readings" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "subscription_data" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"plan" "subscription_plan" DEFAULT 'free' NOT NULL,
	"status" "subscription_status" DEFAULT 'active' NOT NULL,
	"billing_provider" text,
	"billing_customer_id" text,
	"billing_subscription_id" text,
	"current_period_start" timestamp with time zone,
	"current_period_end" timestamp with time zone,
	"trial_ends_at" timestamp with time zone,
	"cancel_at" timestamp with time zone,
	"sms_quota" integer DEFAULT 50 NOT NULL,
	"sms_used" integer DEFAULT 0 NOT NULL,
	"storage_quota_bytes" bigint DEFAULT 524288000 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "subscription_counts" CHECK ("subscription_data"."sms_quota" >= 0 and "subscription_data"."sms_used" >= 0 and "subscription_data"."storage_quota_bytes" >= 0)
);
--> statement-breakpoint
ALTER TABLE "subscription_data" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "system_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"level" "system_event_level" NOT NULL,
	"source" text NOT NULL,
	"event" text NOT NULL,
	"message" text,
	"context" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"user_id" uuid,
	"request_id" text,
	"duration_ms" real
);
--> statement-breakpoint
ALTER TABLE "system_events" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "therapy_sessions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"duration_minutes" smallint,
	"kind" "therapy_kind" NOT NULL,
	"mode" "therapy_mode",
	"provider_name" text,
	"notes" text,
	"phq9_score" smallint,
	"gad7_score" smallint,
	"next_session_at" timestamp with time zone,
	"version" bigint DEFAULT 0 NOT NULL,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "therapy_sessions_id_v7" CHECK (substr("therapy_sessions"."id"::text, 15, 1) = '7'),
	CONSTRAINT "therapy_sessions_scores" CHECK (("therapy_sessions"."phq9_score" is null or "therapy_sessions"."phq9_score" between 0 and 27)
        and ("therapy_sessions"."gad7_score" is null or "therapy_sessions"."gad7_score" between 0 and 21)
        and ("therapy_sessions"."duration_minutes" is null or "therapy_sessions"."duration_minutes" between 0 and 1440))
);
--> statement-breakpoint
ALTER TABLE "therapy_sessions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "user_sessions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"refresh_token_hash" "bytea" NOT NULL,
	"previous_refresh_token_hash" "bytea",
	"user_agent" text,
	"ip" "inet",
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"refreshed_at" timestamp with time zone,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"revoked_reason" text
);
--> statement-breakpoint
ALTER TABLE "user_sessions" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "user_settings" (
	"user_id" uuid PRIMARY KEY NOT NULL,
	"sos_countdown_seconds" smallint DEFAULT 5 NOT NULL,
	"cancel_pin_hash" text,
	"duress_pin_hash" text,
	"auto_record_audio_seconds" smallint DEFAULT 0 NOT NULL,
	"share_media_with_contacts" boolean DEFAULT false NOT NULL,
	"share_location_with_contacts" boolean DEFAULT true NOT NULL,
	"escalate_tier2_after_seconds" integer DEFAULT 120 NOT NULL,
	"escalate_all_after_seconds" integer DEFAULT 300 NOT NULL,
	"mood_reminder_at" time,
	"quiet_hours_start" time,
	"quiet_hours_end" time,
	"notifications" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"hlc" text,
	"version" bigint DEFAULT 0 NOT NULL,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "user_settings_countdown" CHECK ("user_settings"."sos_countdown_seconds" between 0 and 10),
	CONSTRAINT "user_settings_auto_record" CHECK ("user_settings"."auto_record_audio_seconds" between 0 and 600),
	CONSTRAINT "user_settings_escalation" CHECK ("user_settings"."escalate_tier2_after_seconds" > 0 and "user_settings"."escalate_all_after_seconds" >= "user_settings"."escalate_tier2_after_seconds")
);
--> statement-breakpoint
ALTER TABLE "user_settings" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY NOT NULL,
	"email" text,
	"phone" text,
	"password_hash" text,
	"display_name" text,
	"locale" text DEFAULT 'en' NOT NULL,
	"time_zone" text DEFAULT 'UTC' NOT NULL,
	"emergency_number" text,
	"user_metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"email_confirmed_at" timestamp with time zone,
	"phone_confirmed_at" timestamp with time zone,
	"last_sign_in_at" timestamp with time zone,
	"deletion_requested_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_has_login" CHECK ("users"."email" is not null or "users"."phone" is not null),
	CONSTRAINT "users_phone_e164" CHECK ("users"."phone" ~ '^\+[1-9][0-9]{6,14}$'),
	CONSTRAINT "users_emergency_number" CHECK ("users"."emergency_number" ~ '^[0-9+*#]{2,15}$'),
	CONSTRAINT "users_email_shape" CHECK ("users"."email" ~ '^[^@\s]+@[^@\s]+$' and length("users"."email") <= 320)
);
--> statement-breakpoint
ALTER TABLE "users" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "activity_logs" ADD CONSTRAINT "activity_logs_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ai_insights" ADD CONSTRAINT "ai_insights_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alert_logs" ADD CONSTRAINT "alert_logs_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alert_logs" ADD CONSTRAINT "alert_logs_incident_id_emergency_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."emergency_incidents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alert_logs" ADD CONSTRAINT "alert_logs_contact_id_emergency_contacts_id_fk" FOREIGN KEY ("contact_id") REFERENCES "public"."emergency_contacts"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_usage" ADD CONSTRAINT "api_usage_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "coping_tools_usage" ADD CONSTRAINT "coping_tools_usage_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "coping_tools_usage" ADD CONSTRAINT "coping_tools_usage_incident_id_emergency_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."emergency_incidents"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "emergency_contacts" ADD CONSTRAINT "emergency_contacts_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "emergency_contacts" ADD CONSTRAINT "emergency_contacts_contact_user_id_users_id_fk" FOREIGN KEY ("contact_user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "emergency_incidents" ADD CONSTRAINT "emergency_incidents_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "media_files" ADD CONSTRAINT "media_files_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "media_files" ADD CONSTRAINT "media_files_incident_id_emergency_incidents_id_fk" FOREIGN KEY ("incident_id") REFERENCES "public"."emergency_incidents"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mood_entries" ADD CONSTRAINT "mood_entries_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sensor_readings" ADD CONSTRAINT "sensor_readings_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscription_data" ADD CONSTRAINT "subscription_data_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "system_events" ADD CONSTRAINT "system_events_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "therapy_sessions" ADD CONSTRAINT "therapy_sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_sessions" ADD CONSTRAINT "user_sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_settings" ADD CONSTRAINT "user_settings_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "activity_logs_user_occurred_idx" ON "activity_logs" USING btree ("user_id","occurred_at");--> statement-breakpoint
CREATE INDEX "ai_insights_user_generated_idx" ON "ai_insights" USING btree ("user_id","generated_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "ai_insights_user_version_idx" ON "ai_insights" USING btree ("user_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "alert_logs_idempotency_key" ON "alert_logs" USING btree ("idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "alert_logs_provider_message_key" ON "alert_logs" USING btree ("provider","provider_message_id");--> statement-breakpoint
CREATE INDEX "alert_logs_incident_idx" ON "alert_logs" USING btree ("incident_id","created_at");--> statement-breakpoint
CREATE INDEX "alert_logs_user_version_idx" ON "alert_logs" USING btree ("user_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "api_usage_user_route_window_key" ON "api_usage" USING btree ("user_id","route","window_start");--> statement-breakpoint
CREATE INDEX "coping_tools_usage_user_started_idx" ON "coping_tools_usage" USING btree ("user_id","started_at");--> statement-breakpoint
CREATE INDEX "coping_tools_usage_user_version_idx" ON "coping_tools_usage" USING btree ("user_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "emergency_contacts_user_phone_key" ON "emergency_contacts" USING btree ("user_id","phone_e164") WHERE "emergency_contacts"."deleted_at" is null;--> statement-breakpoint
CREATE INDEX "emergency_contacts_user_version_idx" ON "emergency_contacts" USING btree ("user_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "emergency_incidents_user_code_key" ON "emergency_incidents" USING btree ("user_id","code");--> statement-breakpoint
CREATE INDEX "emergency_incidents_user_triggered_idx" ON "emergency_incidents" USING btree ("user_id","triggered_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "emergency_incidents_open_idx" ON "emergency_incidents" USING btree ("user_id") WHERE "emergency_incidents"."status" in ('active', 'acknowledged');--> statement-breakpoint
CREATE INDEX "emergency_incidents_user_version_idx" ON "emergency_incidents" USING btree ("user_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "media_files_bucket_path_key" ON "media_files" USING btree ("bucket","object_path");--> statement-breakpoint
CREATE INDEX "media_files_incident_idx" ON "media_files" USING btree ("incident_id") WHERE "media_files"."incident_id" is not null;--> statement-breakpoint
CREATE INDEX "media_files_user_version_idx" ON "media_files" USING btree ("user_id","version");--> statement-breakpoint
CREATE INDEX "mood_entries_user_recorded_idx" ON "mood_entries" USING btree ("user_id","recorded_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "mood_entries_user_version_idx" ON "mood_entries" USING btree ("user_id","version");--> statement-breakpoint
CREATE INDEX "sensor_readings_user_recorded_idx" ON "sensor_readings" USING btree ("user_id","recorded_at");--> statement-breakpoint
CREATE INDEX "sensor_readings_recorded_brin" ON "sensor_readings" USING brin ("recorded_at");--> statement-breakpoint
CREATE INDEX "system_events_occurred_idx" ON "system_events" USING btree ("occurred_at");--> statement-breakpoint
CREATE INDEX "system_events_user_idx" ON "system_events" USING btree ("user_id","occurred_at") WHERE "system_events"."user_id" is not null;--> statement-breakpoint
CREATE INDEX "therapy_sessions_user_occurred_idx" ON "therapy_sessions" USING btree ("user_id","occurred_at" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "therapy_sessions_user_version_idx" ON "therapy_sessions" USING btree ("user_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "user_sessions_refresh_token_key" ON "user_sessions" USING btree ("refresh_token_hash");--> statement-breakpoint
CREATE INDEX "user_sessions_previous_refresh_token_idx" ON "user_sessions" USING btree ("previous_refresh_token_hash");--> statement-breakpoint
CREATE INDEX "user_sessions_user_idx" ON "user_sessions" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_key" ON "users" USING btree (lower("email"));--> statement-breakpoint
CREATE UNIQUE INDEX "users_phone_key" ON "users" USING btree ("phone");--> statement-breakpoint
CREATE POLICY "own_rows_read" ON "activity_logs" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("activity_logs"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows_append" ON "activity_logs" AS PERMISSIVE FOR INSERT TO "authenticated" WITH CHECK ("activity_logs"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows" ON "ai_insights" AS PERMISSIVE FOR ALL TO "authenticated" USING ("ai_insights"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid) WITH CHECK ("ai_insights"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows" ON "alert_logs" AS PERMISSIVE FOR ALL TO "authenticated" USING ("alert_logs"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid) WITH CHECK ("alert_logs"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows_read" ON "api_usage" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("api_usage"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows" ON "coping_tools_usage" AS PERMISSIVE FOR ALL TO "authenticated" USING ("coping_tools_usage"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid) WITH CHECK ("coping_tools_usage"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows" ON "emergency_contacts" AS PERMISSIVE FOR ALL TO "authenticated" USING ("emergency_contacts"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid) WITH CHECK ("emergency_contacts"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows" ON "emergency_incidents" AS PERMISSIVE FOR ALL TO "authenticated" USING ("emergency_incidents"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid) WITH CHECK ("emergency_incidents"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows" ON "media_files" AS PERMISSIVE FOR ALL TO "authenticated" USING ("media_files"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid) WITH CHECK ("media_files"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows" ON "mood_entries" AS PERMISSIVE FOR ALL TO "authenticated" USING ("mood_entries"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid) WITH CHECK ("mood_entries"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows" ON "sensor_readings" AS PERMISSIVE FOR ALL TO "authenticated" USING ("sensor_readings"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid) WITH CHECK ("sensor_readings"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows_read" ON "subscription_data" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("subscription_data"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows_read" ON "system_events" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("system_events"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows" ON "therapy_sessions" AS PERMISSIVE FOR ALL TO "authenticated" USING ("therapy_sessions"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid) WITH CHECK ("therapy_sessions"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows_read" ON "user_sessions" AS PERMISSIVE FOR SELECT TO "authenticated" USING ("user_sessions"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows" ON "user_settings" AS PERMISSIVE FOR ALL TO "authenticated" USING ("user_settings"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid) WITH CHECK ("user_settings"."user_id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);--> statement-breakpoint
CREATE POLICY "own_rows" ON "users" AS PERMISSIVE FOR ALL TO "authenticated" USING ("users"."id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid) WITH CHECK ("users"."id" = (select nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')::uuid);