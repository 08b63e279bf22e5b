DROP INDEX "outbox_jobs_dedupe_key_idx";--> statement-breakpoint
DROP INDEX "outbox_jobs_org_idx";--> statement-breakpoint
ALTER TABLE "outbox_jobs" ADD COLUMN "secret" text;--> statement-breakpoint
CREATE INDEX "outbox_jobs_finished_idx" ON "outbox_jobs" USING btree ("state","finished_at") WHERE "outbox_jobs"."state" <> 'pending';--> statement-breakpoint
CREATE UNIQUE INDEX "outbox_jobs_dedupe_key_idx" ON "outbox_jobs" USING btree ("dedupe_key") WHERE "outbox_jobs"."dedupe_key" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "outbox_jobs_org_idx" ON "outbox_jobs" USING btree ("org_id") WHERE "outbox_jobs"."org_id" IS NOT NULL;