-- Emails are stored in the one normal form the application computes (normalizeEmail) and compared
-- as stored. Addresses have only ever been accepted in ASCII, where lower() and the application's
-- normalisation agree; lower() never touches a non-ASCII one here, whatever the database's locale.
UPDATE "users" SET "email" = lower("email") WHERE "email" <> lower("email") AND octet_length("email") = char_length("email");--> statement-breakpoint
UPDATE "invitations" SET "email" = lower("email") WHERE "email" <> lower("email") AND octet_length("email") = char_length("email");--> statement-breakpoint
DROP INDEX "invitations_pending_email_key";--> statement-breakpoint
DROP INDEX "users_email_lower_key";--> statement-breakpoint
DROP INDEX "users_email_trgm_idx";--> statement-breakpoint
DROP INDEX "users_email_prefix_idx";--> statement-breakpoint
CREATE UNIQUE INDEX "invitations_pending_normalized_email_key" ON "invitations" USING btree ("org_id","email") WHERE "invitations"."status" = 'pending';--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_key" ON "users" USING btree ("email");--> statement-breakpoint
CREATE INDEX "users_email_search_trgm_idx" ON "users" USING gin ("email" gin_trgm_ops) WITH (fastupdate=off);--> statement-breakpoint
CREATE INDEX "users_email_search_prefix_idx" ON "users" USING btree ("email" text_pattern_ops);