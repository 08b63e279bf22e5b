CREATE TABLE "billing_provider_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"org_id" uuid,
	"received_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"payload" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "invoice_sequence" (
	"id" smallint PRIMARY KEY DEFAULT 1 NOT NULL,
	"last_number" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "invoice_sequence_single_row" CHECK ("invoice_sequence"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "invoices" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"number" bigint NOT NULL,
	"reason" text NOT NULL,
	"plan" text NOT NULL,
	"cycle" text NOT NULL,
	"period_start" timestamp (3) with time zone NOT NULL,
	"period_end" timestamp (3) with time zone NOT NULL,
	"currency" text NOT NULL,
	"subtotal" bigint NOT NULL,
	"total" bigint NOT NULL,
	"lines" jsonb NOT NULL,
	"bill_to" jsonb NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"issued_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"due_at" timestamp (3) with time zone NOT NULL,
	"paid_at" timestamp (3) with time zone,
	"provider_reference" text,
	CONSTRAINT "invoices_reason_check" CHECK ("invoices"."reason" IN ('cycle', 'plan_change')),
	CONSTRAINT "invoices_status_check" CHECK ("invoices"."status" IN ('open', 'paid', 'failed', 'void')),
	CONSTRAINT "invoices_cycle_check" CHECK ("invoices"."cycle" IN ('monthly', 'annual'))
);
--> statement-breakpoint
CREATE TABLE "reports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"framework" text,
	"period_from" timestamp (3) with time zone NOT NULL,
	"period_to" timestamp (3) with time zone NOT NULL,
	"requested_by" uuid,
	"status" text DEFAULT 'pending' NOT NULL,
	"error" text,
	"summary" jsonb,
	"pdf" "bytea",
	"size_bytes" integer,
	"sha256" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp (3) with time zone,
	CONSTRAINT "reports_kind_check" CHECK ("reports"."kind" IN ('compliance', 'executive')),
	CONSTRAINT "reports_framework_check" CHECK (("reports"."kind" = 'compliance' AND "reports"."framework" IN ('soc2', 'iso27001', 'gdpr', 'hipaa', 'pci_dss')) OR ("reports"."kind" = 'executive' AND "reports"."framework" IS NULL)),
	CONSTRAINT "reports_status_check" CHECK ("reports"."status" IN ('pending', 'running', 'ready', 'failed')),
	CONSTRAINT "reports_period_check" CHECK ("reports"."period_from" < "reports"."period_to")
);
--> statement-breakpoint
CREATE TABLE "subscriptions" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"cycle" text DEFAULT 'monthly' NOT NULL,
	"period_start" timestamp (3) with time zone,
	"period_end" timestamp (3) with time zone,
	"seats" integer DEFAULT 1 NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"credit_balance" bigint DEFAULT 0 NOT NULL,
	"payment_provider" text,
	"payment_reference" text,
	"payment_brand" text,
	"payment_last4" text,
	"payment_exp_month" smallint,
	"payment_exp_year" smallint,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "subscriptions_cycle_check" CHECK ("subscriptions"."cycle" IN ('monthly', 'annual')),
	CONSTRAINT "subscriptions_status_check" CHECK ("subscriptions"."status" IN ('active', 'past_due')),
	CONSTRAINT "subscriptions_seats_check" CHECK ("subscriptions"."seats" >= 1),
	CONSTRAINT "subscriptions_credit_check" CHECK ("subscriptions"."credit_balance" >= 0),
	CONSTRAINT "subscriptions_last4_check" CHECK ("subscriptions"."payment_last4" IS NULL OR "subscriptions"."payment_last4" ~ '^[0-9]{4}$'),
	CONSTRAINT "subscriptions_exp_check" CHECK (("subscriptions"."payment_exp_month" IS NULL OR "subscriptions"."payment_exp_month" BETWEEN 1 AND 12) AND ("subscriptions"."payment_exp_year" IS NULL OR "subscriptions"."payment_exp_year" BETWEEN 2000 AND 2200))
);
--> statement-breakpoint
ALTER TABLE "billing_provider_events" ADD CONSTRAINT "billing_provider_events_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reports" ADD CONSTRAINT "reports_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reports" ADD CONSTRAINT "reports_requested_by_users_id_fk" FOREIGN KEY ("requested_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subscriptions" ADD CONSTRAINT "subscriptions_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "billing_provider_events_received_idx" ON "billing_provider_events" USING btree ("received_at");--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_org_number_key" ON "invoices" USING btree ("org_id","number");--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_org_cycle_period_key" ON "invoices" USING btree ("org_id","period_start") WHERE "invoices"."reason" = 'cycle';--> statement-breakpoint
CREATE INDEX "invoices_org_list_idx" ON "invoices" USING btree ("org_id","issued_at","id");--> statement-breakpoint
CREATE INDEX "reports_org_list_idx" ON "reports" USING btree ("org_id","kind","created_at","id");--> statement-breakpoint
CREATE INDEX "subscriptions_period_end_idx" ON "subscriptions" USING btree ("period_end") WHERE "subscriptions"."period_end" IS NOT NULL;--> statement-breakpoint
INSERT INTO "invoice_sequence" ("id", "last_number") VALUES (1, 0) ON CONFLICT DO NOTHING;
