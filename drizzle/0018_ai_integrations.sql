CREATE TABLE "ai_connections" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"purpose" text NOT NULL,
	"provider" text NOT NULL,
	"base_url" text NOT NULL,
	"model" text NOT NULL,
	"deployment" text,
	"api_version" text,
	"api_key" text NOT NULL,
	"api_key_hint" text,
	"last_test" jsonb,
	"updated_by" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_connections_purpose_check" CHECK ("ai_connections"."purpose" IN ('remediator', 'validator')),
	CONSTRAINT "ai_connections_provider_check" CHECK ("ai_connections"."provider" IN ('openai', 'azure_openai', 'openai_compatible'))
);
--> statement-breakpoint
CREATE TABLE "integrations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"provider" text NOT NULL,
	"name" text NOT NULL,
	"config" jsonb NOT NULL,
	"secret" text,
	"status" text DEFAULT 'untested' NOT NULL,
	"last_test" jsonb,
	"created_by" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "integrations_org_id_key" UNIQUE("org_id","id"),
	CONSTRAINT "integrations_kind_check" CHECK ("integrations"."kind" IN ('scm', 'ticketing', 'registry', 'cloud', 'chat')),
	CONSTRAINT "integrations_status_check" CHECK ("integrations"."status" IN ('untested', 'connected', 'failing'))
);
--> statement-breakpoint
ALTER TABLE "ai_connections" ADD CONSTRAINT "ai_connections_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ai_connections" ADD CONSTRAINT "ai_connections_updated_by_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "integrations" ADD CONSTRAINT "integrations_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "integrations" ADD CONSTRAINT "integrations_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "ai_connections_org_purpose_key" ON "ai_connections" USING btree ("org_id","purpose");--> statement-breakpoint
CREATE UNIQUE INDEX "integrations_org_name_key" ON "integrations" USING btree ("org_id",lower("name"));--> statement-breakpoint
CREATE INDEX "integrations_org_list_idx" ON "integrations" USING btree ("org_id","created_at","id");