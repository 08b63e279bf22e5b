DROP INDEX "login_attempts_ip_idx";--> statement-breakpoint
ALTER TABLE "login_attempts" ADD COLUMN "kind" text DEFAULT 'login' NOT NULL;--> statement-breakpoint
CREATE INDEX "login_attempts_kind_ip_idx" ON "login_attempts" USING btree ("kind","ip","created_at");