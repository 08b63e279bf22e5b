ALTER TABLE "audit_events" ADD COLUMN "target_name" text;--> statement-breakpoint
ALTER TABLE "audit_events" ADD COLUMN "target_email" text;