CREATE TABLE "org_export_chunks" (
	"export_id" uuid NOT NULL,
	"build_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"bytes" "bytea" NOT NULL,
	CONSTRAINT "org_export_chunks_pkey" PRIMARY KEY("export_id","build_id","seq")
);
--> statement-breakpoint
CREATE TABLE "org_exports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"requested_by" uuid,
	"status" text DEFAULT 'pending' NOT NULL,
	"progress" integer DEFAULT 0 NOT NULL,
	"build_id" uuid,
	"size_bytes" bigint,
	"sha256" text,
	"error" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp (3) with time zone,
	"finished_at" timestamp (3) with time zone,
	"expires_at" timestamp (3) with time zone,
	CONSTRAINT "org_exports_status_check" CHECK ("org_exports"."status" IN ('pending', 'running', 'ready', 'failed')),
	CONSTRAINT "org_exports_progress_check" CHECK ("org_exports"."progress" BETWEEN 0 AND 100)
);
--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "scan_retention_days" integer DEFAULT 365 NOT NULL;--> statement-breakpoint
ALTER TABLE "org_export_chunks" ADD CONSTRAINT "org_export_chunks_export_id_org_exports_id_fk" FOREIGN KEY ("export_id") REFERENCES "public"."org_exports"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "org_exports" ADD CONSTRAINT "org_exports_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "org_exports" ADD CONSTRAINT "org_exports_requested_by_users_id_fk" FOREIGN KEY ("requested_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "org_exports_org_list_idx" ON "org_exports" USING btree ("org_id","created_at","id");--> statement-breakpoint
CREATE INDEX "org_exports_expires_idx" ON "org_exports" USING btree ("expires_at") WHERE "org_exports"."expires_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "organizations_deleted_idx" ON "organizations" USING btree ("deleted_at") WHERE "organizations"."deleted_at" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "organizations" ADD CONSTRAINT "organizations_scan_retention_check" CHECK ("organizations"."scan_retention_days" BETWEEN 30 AND 730);