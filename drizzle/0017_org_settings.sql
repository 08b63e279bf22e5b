ALTER TABLE "organizations" ADD COLUMN "scan_schedule" text DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "scan_schedule_day" smallint DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "scan_schedule_hour" smallint DEFAULT 2 NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "scans_scheduled_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "autonomous_scanning" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "fix_verification" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "deep_ai_enrichment" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "remediation_language" text DEFAULT 'en' NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "language" text DEFAULT 'en' NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "timezone" text;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "date_format" text DEFAULT 'locale' NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "setup_dismissed_at" timestamp (3) with time zone;--> statement-breakpoint
CREATE INDEX "organizations_scheduled_idx" ON "organizations" USING btree ("scans_scheduled_at") WHERE "organizations"."scan_schedule" <> 'none' AND "organizations"."deleted_at" IS NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD CONSTRAINT "organizations_scan_schedule_check" CHECK ("organizations"."scan_schedule" IN ('none', 'weekly', 'monthly'));--> statement-breakpoint
ALTER TABLE "organizations" ADD CONSTRAINT "organizations_date_format_check" CHECK ("organizations"."date_format" IN ('locale', 'iso', 'dmy', 'mdy'));