CREATE TABLE "applications" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"name" text NOT NULL,
	"repository_url" text,
	"description" text,
	"created_by" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "applications_org_id_key" UNIQUE("org_id","id")
);
--> statement-breakpoint
CREATE TABLE "department_members" (
	"org_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"department_id" uuid NOT NULL,
	CONSTRAINT "department_members_pkey" PRIMARY KEY("org_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "departments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"parent_id" uuid,
	"name" text NOT NULL,
	"monthly_budget" integer,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "departments_org_id_key" UNIQUE("org_id","id"),
	CONSTRAINT "departments_budget_check" CHECK ("departments"."monthly_budget" IS NULL OR "departments"."monthly_budget" >= 0)
);
--> statement-breakpoint
CREATE TABLE "finding_comments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"finding_id" uuid NOT NULL,
	"author_id" uuid,
	"body" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "findings" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"application_id" uuid NOT NULL,
	"fingerprint" text NOT NULL,
	"rule_id" text NOT NULL,
	"title" text NOT NULL,
	"message" text,
	"severity" text NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"assignee_id" uuid,
	"location" jsonb,
	"tool" text,
	"first_seen_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"occurrences" integer DEFAULT 1 NOT NULL,
	"last_scan_id" uuid,
	"resolved_at" timestamp (3) with time zone,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"search_text" text GENERATED ALWAYS AS (lower(title || ' ' || rule_id || ' ' || coalesce(location->>'path', ''))) STORED,
	CONSTRAINT "findings_org_id_key" UNIQUE("org_id","id"),
	CONSTRAINT "findings_severity_check" CHECK ("findings"."severity" IN ('critical', 'high', 'medium', 'low')),
	CONSTRAINT "findings_status_check" CHECK ("findings"."status" IN ('open', 'triaged', 'false_positive', 'mitigated', 'resolved'))
);
--> statement-breakpoint
CREATE TABLE "member_budgets" (
	"org_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"monthly_tokens" integer NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "member_budgets_pkey" PRIMARY KEY("org_id","user_id"),
	CONSTRAINT "member_budgets_tokens_check" CHECK ("member_budgets"."monthly_tokens" >= 0)
);
--> statement-breakpoint
CREATE TABLE "module_costs" (
	"module" text PRIMARY KEY NOT NULL,
	"tokens" integer NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "module_costs_module_check" CHECK ("module_costs"."module" IN ('dependencies', 'sast', 'secrets', 'api')),
	CONSTRAINT "module_costs_tokens_check" CHECK ("module_costs"."tokens" >= 0)
);
--> statement-breakpoint
CREATE TABLE "policies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"fail_on" text NOT NULL,
	"modules" text[] DEFAULT '{}' NOT NULL,
	"application_ids" uuid[] DEFAULT '{}' NOT NULL,
	"created_by" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "policies_fail_on_check" CHECK ("policies"."fail_on" IN ('critical', 'high', 'medium', 'low'))
);
--> statement-breakpoint
CREATE TABLE "quota_boosts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"tokens" integer NOT NULL,
	"created_by" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "quota_boosts_tokens_check" CHECK ("quota_boosts"."tokens" > 0)
);
--> statement-breakpoint
CREATE TABLE "quota_counters" (
	"org_id" uuid NOT NULL,
	"month" text NOT NULL,
	"subject" text NOT NULL,
	"used" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "quota_counters_pkey" PRIMARY KEY("org_id","month","subject"),
	CONSTRAINT "quota_counters_used_check" CHECK ("quota_counters"."used" >= 0)
);
--> statement-breakpoint
CREATE TABLE "quota_ledger" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"month" text NOT NULL,
	"scan_id" uuid,
	"user_id" uuid,
	"department_id" uuid,
	"module" text NOT NULL,
	"tokens" integer NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "quota_thresholds" (
	"org_id" uuid NOT NULL,
	"month" text NOT NULL,
	"percent" integer NOT NULL,
	"reached_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "quota_thresholds_pkey" PRIMARY KEY("org_id","month","percent")
);
--> statement-breakpoint
CREATE TABLE "remediations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"finding_id" uuid NOT NULL,
	"summary" text NOT NULL,
	"patch" text,
	"status" text DEFAULT 'proposed' NOT NULL,
	"created_by" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"approved_by" uuid,
	"approved_at" timestamp (3) with time zone,
	CONSTRAINT "remediations_status_check" CHECK ("remediations"."status" IN ('proposed', 'approved'))
);
--> statement-breakpoint
CREATE TABLE "scan_findings" (
	"org_id" uuid NOT NULL,
	"scan_id" uuid NOT NULL,
	"finding_id" uuid NOT NULL,
	CONSTRAINT "scan_findings_pkey" PRIMARY KEY("scan_id","finding_id")
);
--> statement-breakpoint
CREATE TABLE "scan_sarif" (
	"scan_id" uuid PRIMARY KEY NOT NULL,
	"gzip" "bytea" NOT NULL,
	"bytes" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "scans" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"application_id" uuid NOT NULL,
	"modules" text[] NOT NULL,
	"status" text NOT NULL,
	"tokens" integer NOT NULL,
	"created_by" uuid,
	"token_id" uuid,
	"tools" text[] DEFAULT '{}' NOT NULL,
	"findings_total" integer DEFAULT 0 NOT NULL,
	"findings_critical" integer DEFAULT 0 NOT NULL,
	"findings_high" integer DEFAULT 0 NOT NULL,
	"findings_medium" integer DEFAULT 0 NOT NULL,
	"findings_low" integer DEFAULT 0 NOT NULL,
	"policy" jsonb DEFAULT '{"passed": true, "violations": []}'::jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp (3) with time zone,
	CONSTRAINT "scans_org_id_key" UNIQUE("org_id","id"),
	CONSTRAINT "scans_status_check" CHECK ("scans"."status" IN ('pending', 'completed', 'failed')),
	CONSTRAINT "scans_tokens_check" CHECK ("scans"."tokens" >= 0)
);
--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "authenticated_at" timestamp (3) with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "amr" text[] DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE "applications" ADD CONSTRAINT "applications_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "applications" ADD CONSTRAINT "applications_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "department_members" ADD CONSTRAINT "department_members_department_fkey" FOREIGN KEY ("org_id","department_id") REFERENCES "public"."departments"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "department_members" ADD CONSTRAINT "department_members_membership_fkey" FOREIGN KEY ("org_id","user_id") REFERENCES "public"."memberships"("org_id","user_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "departments" ADD CONSTRAINT "departments_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "departments" ADD CONSTRAINT "departments_parent_fkey" FOREIGN KEY ("org_id","parent_id") REFERENCES "public"."departments"("org_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "finding_comments" ADD CONSTRAINT "finding_comments_author_id_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "finding_comments" ADD CONSTRAINT "finding_comments_finding_fkey" FOREIGN KEY ("org_id","finding_id") REFERENCES "public"."findings"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "findings" ADD CONSTRAINT "findings_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "findings" ADD CONSTRAINT "findings_assignee_id_users_id_fk" FOREIGN KEY ("assignee_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "findings" ADD CONSTRAINT "findings_application_fkey" FOREIGN KEY ("org_id","application_id") REFERENCES "public"."applications"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "member_budgets" ADD CONSTRAINT "member_budgets_membership_fkey" FOREIGN KEY ("org_id","user_id") REFERENCES "public"."memberships"("org_id","user_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policies" ADD CONSTRAINT "policies_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policies" ADD CONSTRAINT "policies_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quota_boosts" ADD CONSTRAINT "quota_boosts_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quota_boosts" ADD CONSTRAINT "quota_boosts_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quota_counters" ADD CONSTRAINT "quota_counters_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quota_ledger" ADD CONSTRAINT "quota_ledger_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quota_ledger" ADD CONSTRAINT "quota_ledger_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quota_thresholds" ADD CONSTRAINT "quota_thresholds_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "remediations" ADD CONSTRAINT "remediations_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "remediations" ADD CONSTRAINT "remediations_approved_by_users_id_fk" FOREIGN KEY ("approved_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "remediations" ADD CONSTRAINT "remediations_finding_fkey" FOREIGN KEY ("org_id","finding_id") REFERENCES "public"."findings"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scan_findings" ADD CONSTRAINT "scan_findings_scan_fkey" FOREIGN KEY ("org_id","scan_id") REFERENCES "public"."scans"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scan_findings" ADD CONSTRAINT "scan_findings_finding_fkey" FOREIGN KEY ("org_id","finding_id") REFERENCES "public"."findings"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scan_sarif" ADD CONSTRAINT "scan_sarif_scan_id_scans_id_fk" FOREIGN KEY ("scan_id") REFERENCES "public"."scans"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scans" ADD CONSTRAINT "scans_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scans" ADD CONSTRAINT "scans_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scans" ADD CONSTRAINT "scans_token_id_api_tokens_id_fk" FOREIGN KEY ("token_id") REFERENCES "public"."api_tokens"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "scans" ADD CONSTRAINT "scans_application_fkey" FOREIGN KEY ("org_id","application_id") REFERENCES "public"."applications"("org_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "applications_org_name_key" ON "applications" USING btree ("org_id",lower("name"));--> statement-breakpoint
CREATE INDEX "applications_org_list_idx" ON "applications" USING btree ("org_id","created_at","id");--> statement-breakpoint
CREATE INDEX "department_members_department_idx" ON "department_members" USING btree ("org_id","department_id");--> statement-breakpoint
CREATE UNIQUE INDEX "departments_org_name_key" ON "departments" USING btree ("org_id",lower("name"));--> statement-breakpoint
CREATE INDEX "finding_comments_finding_idx" ON "finding_comments" USING btree ("finding_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "findings_app_fingerprint_key" ON "findings" USING btree ("org_id","application_id","fingerprint");--> statement-breakpoint
CREATE INDEX "findings_org_list_idx" ON "findings" USING btree ("org_id","last_seen_at","id");--> statement-breakpoint
CREATE INDEX "findings_org_status_idx" ON "findings" USING btree ("org_id","status","last_seen_at","id");--> statement-breakpoint
CREATE INDEX "findings_org_severity_idx" ON "findings" USING btree ("org_id","severity","last_seen_at","id");--> statement-breakpoint
CREATE INDEX "findings_org_status_severity_idx" ON "findings" USING btree ("org_id","status","severity","last_seen_at","id");--> statement-breakpoint
CREATE INDEX "findings_org_assignee_idx" ON "findings" USING btree ("org_id","assignee_id","last_seen_at","id");--> statement-breakpoint
CREATE INDEX "findings_org_app_list_idx" ON "findings" USING btree ("org_id","application_id","last_seen_at","id");--> statement-breakpoint
CREATE INDEX "findings_search_trgm_idx" ON "findings" USING gin ("search_text" gin_trgm_ops);--> statement-breakpoint
CREATE UNIQUE INDEX "policies_org_name_key" ON "policies" USING btree ("org_id",lower("name"));--> statement-breakpoint
CREATE INDEX "policies_org_list_idx" ON "policies" USING btree ("org_id","created_at","id");--> statement-breakpoint
CREATE INDEX "quota_boosts_org_idx" ON "quota_boosts" USING btree ("org_id","expires_at");--> statement-breakpoint
CREATE INDEX "quota_ledger_org_month_idx" ON "quota_ledger" USING btree ("org_id","month");--> statement-breakpoint
CREATE INDEX "remediations_finding_idx" ON "remediations" USING btree ("org_id","finding_id","created_at");--> statement-breakpoint
CREATE INDEX "scan_findings_finding_idx" ON "scan_findings" USING btree ("finding_id");--> statement-breakpoint
CREATE INDEX "scans_org_list_idx" ON "scans" USING btree ("org_id","created_at","id");--> statement-breakpoint
CREATE INDEX "scans_org_app_idx" ON "scans" USING btree ("org_id","application_id","created_at","id");--> statement-breakpoint
INSERT INTO "module_costs" ("module", "tokens") VALUES ('dependencies', 10), ('sast', 15), ('secrets', 5), ('api', 20) ON CONFLICT DO NOTHING;
