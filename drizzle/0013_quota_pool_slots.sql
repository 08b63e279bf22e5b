ALTER TABLE "quota_counters" ADD COLUMN "allotted" integer;--> statement-breakpoint
ALTER TABLE "quota_counters" ADD COLUMN "allot_limit" integer;--> statement-breakpoint
ALTER TABLE "quota_counters" ADD CONSTRAINT "quota_counters_allotted_check" CHECK ("quota_counters"."allotted" IS NULL OR "quota_counters"."used" <= "quota_counters"."allotted");