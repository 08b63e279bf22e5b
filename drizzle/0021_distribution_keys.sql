-- Keys for distributing the schema by organization (Citus): every primary key, unique index and
-- foreign key of an organization's table includes org_id. Primary keys on id alone become
-- (org_id, id), taking over from the separate (org_id, id) unique keys the composite foreign keys
-- pointed at; the three tables that reached their organization only through a parent gain org_id;
-- notifications, kept per person, are keyed by (user_id, id).
ALTER TABLE "invitations" DROP CONSTRAINT "invitations_role_fkey";--> statement-breakpoint
ALTER TABLE "memberships" DROP CONSTRAINT "memberships_role_fkey";--> statement-breakpoint
ALTER TABLE "api_tokens" DROP CONSTRAINT "api_tokens_role_fkey";--> statement-breakpoint
ALTER TABLE "department_members" DROP CONSTRAINT "department_members_department_fkey";--> statement-breakpoint
ALTER TABLE "departments" DROP CONSTRAINT "departments_parent_fkey";--> statement-breakpoint
ALTER TABLE "finding_comments" DROP CONSTRAINT "finding_comments_finding_fkey";--> statement-breakpoint
ALTER TABLE "findings" DROP CONSTRAINT "findings_application_fkey";--> statement-breakpoint
ALTER TABLE "remediations" DROP CONSTRAINT "remediations_finding_fkey";--> statement-breakpoint
ALTER TABLE "scan_findings" DROP CONSTRAINT "scan_findings_finding_fkey";--> statement-breakpoint
ALTER TABLE "scan_findings" DROP CONSTRAINT "scan_findings_scan_fkey";--> statement-breakpoint
ALTER TABLE "scans" DROP CONSTRAINT "scans_application_fkey";--> statement-breakpoint
ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "webhook_deliveries_webhook_fkey";--> statement-breakpoint
ALTER TABLE "sso_group_mappings" DROP CONSTRAINT "sso_group_mappings_role_fkey";--> statement-breakpoint
ALTER TABLE "sso_settings" DROP CONSTRAINT "sso_settings_default_role_fkey";--> statement-breakpoint
ALTER TABLE "scim_group_members" DROP CONSTRAINT "scim_group_members_group_fkey";--> statement-breakpoint
ALTER TABLE "scim_group_members" DROP CONSTRAINT "scim_group_members_user_fkey";--> statement-breakpoint
ALTER TABLE "api_token_usage" DROP CONSTRAINT "api_token_usage_token_id_api_tokens_id_fk";--> statement-breakpoint
ALTER TABLE "invitation_sends" DROP CONSTRAINT "invitation_sends_invitation_id_invitations_id_fk";--> statement-breakpoint
ALTER TABLE "org_export_chunks" DROP CONSTRAINT "org_export_chunks_export_id_org_exports_id_fk";--> statement-breakpoint
ALTER TABLE "scan_sarif" DROP CONSTRAINT "scan_sarif_scan_id_scans_id_fk";--> statement-breakpoint
ALTER TABLE "scans" DROP CONSTRAINT "scans_token_id_api_tokens_id_fk";--> statement-breakpoint
ALTER TABLE "webhook_attempts" DROP CONSTRAINT "webhook_attempts_delivery_id_webhook_deliveries_id_fk";--> statement-breakpoint
ALTER TABLE "applications" DROP CONSTRAINT "applications_org_id_key";--> statement-breakpoint
ALTER TABLE "departments" DROP CONSTRAINT "departments_org_id_key";--> statement-breakpoint
ALTER TABLE "findings" DROP CONSTRAINT "findings_org_id_key";--> statement-breakpoint
ALTER TABLE "integrations" DROP CONSTRAINT "integrations_org_id_key";--> statement-breakpoint
ALTER TABLE "roles" DROP CONSTRAINT "roles_org_id_key";--> statement-breakpoint
ALTER TABLE "scans" DROP CONSTRAINT "scans_org_id_key";--> statement-breakpoint
ALTER TABLE "scim_groups" DROP CONSTRAINT "scim_groups_org_id_key";--> statement-breakpoint
ALTER TABLE "scim_users" DROP CONSTRAINT "scim_users_org_id_key";--> statement-breakpoint
ALTER TABLE "sso_group_mappings" DROP CONSTRAINT "sso_group_mappings_org_id_key";--> statement-breakpoint
ALTER TABLE "webhooks" DROP CONSTRAINT "webhooks_org_id_key";--> statement-breakpoint
ALTER TABLE "ai_connections" DROP CONSTRAINT "ai_connections_pkey";--> statement-breakpoint
ALTER TABLE "api_tokens" DROP CONSTRAINT "api_tokens_pkey";--> statement-breakpoint
ALTER TABLE "applications" DROP CONSTRAINT "applications_pkey";--> statement-breakpoint
ALTER TABLE "departments" DROP CONSTRAINT "departments_pkey";--> statement-breakpoint
ALTER TABLE "finding_comments" DROP CONSTRAINT "finding_comments_pkey";--> statement-breakpoint
ALTER TABLE "findings" DROP CONSTRAINT "findings_pkey";--> statement-breakpoint
ALTER TABLE "integrations" DROP CONSTRAINT "integrations_pkey";--> statement-breakpoint
ALTER TABLE "invitation_sends" DROP CONSTRAINT "invitation_sends_pkey";--> statement-breakpoint
ALTER TABLE "invitations" DROP CONSTRAINT "invitations_pkey";--> statement-breakpoint
ALTER TABLE "invoices" DROP CONSTRAINT "invoices_pkey";--> statement-breakpoint
ALTER TABLE "join_requests" DROP CONSTRAINT "join_requests_pkey";--> statement-breakpoint
ALTER TABLE "org_exports" DROP CONSTRAINT "org_exports_pkey";--> statement-breakpoint
ALTER TABLE "policies" DROP CONSTRAINT "policies_pkey";--> statement-breakpoint
ALTER TABLE "quota_boosts" DROP CONSTRAINT "quota_boosts_pkey";--> statement-breakpoint
ALTER TABLE "quota_ledger" DROP CONSTRAINT "quota_ledger_pkey";--> statement-breakpoint
ALTER TABLE "remediations" DROP CONSTRAINT "remediations_pkey";--> statement-breakpoint
ALTER TABLE "reports" DROP CONSTRAINT "reports_pkey";--> statement-breakpoint
ALTER TABLE "roles" DROP CONSTRAINT "roles_pkey";--> statement-breakpoint
ALTER TABLE "scans" DROP CONSTRAINT "scans_pkey";--> statement-breakpoint
ALTER TABLE "scim_groups" DROP CONSTRAINT "scim_groups_pkey";--> statement-breakpoint
ALTER TABLE "scim_requests" DROP CONSTRAINT "scim_requests_pkey";--> statement-breakpoint
ALTER TABLE "scim_tokens" DROP CONSTRAINT "scim_tokens_pkey";--> statement-breakpoint
ALTER TABLE "scim_users" DROP CONSTRAINT "scim_users_pkey";--> statement-breakpoint
ALTER TABLE "sso_group_mappings" DROP CONSTRAINT "sso_group_mappings_pkey";--> statement-breakpoint
ALTER TABLE "webhook_attempts" DROP CONSTRAINT "webhook_attempts_pkey";--> statement-breakpoint
ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "webhook_deliveries_pkey";--> statement-breakpoint
ALTER TABLE "webhooks" DROP CONSTRAINT "webhooks_pkey";--> statement-breakpoint
ALTER TABLE "notifications" DROP CONSTRAINT "notifications_pkey";--> statement-breakpoint
ALTER TABLE "scan_findings" DROP CONSTRAINT "scan_findings_pkey";--> statement-breakpoint
ALTER TABLE "org_export_chunks" DROP CONSTRAINT "org_export_chunks_pkey";--> statement-breakpoint
ALTER TABLE "scan_sarif" DROP CONSTRAINT "scan_sarif_pkey";--> statement-breakpoint
DROP INDEX "webhook_attempts_attempt_key";--> statement-breakpoint
DROP INDEX "webhook_deliveries_event_key";--> statement-breakpoint
ALTER TABLE "api_token_usage" ADD COLUMN "org_id" uuid;--> statement-breakpoint
UPDATE "api_token_usage" AS c SET "org_id" = p."org_id" FROM "api_tokens" AS p WHERE p."id" = c."token_id";--> statement-breakpoint
ALTER TABLE "api_token_usage" ALTER COLUMN "org_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "api_token_usage" DROP CONSTRAINT "api_token_usage_pkey";--> statement-breakpoint
ALTER TABLE "api_token_usage" ADD CONSTRAINT "api_token_usage_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "org_export_chunks" ADD COLUMN "org_id" uuid;--> statement-breakpoint
UPDATE "org_export_chunks" AS c SET "org_id" = p."org_id" FROM "org_exports" AS p WHERE p."id" = c."export_id";--> statement-breakpoint
ALTER TABLE "org_export_chunks" ALTER COLUMN "org_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "scan_sarif" ADD COLUMN "org_id" uuid;--> statement-breakpoint
UPDATE "scan_sarif" AS c SET "org_id" = p."org_id" FROM "scans" AS p WHERE p."id" = c."scan_id";--> statement-breakpoint
ALTER TABLE "scan_sarif" ALTER COLUMN "org_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "ai_connections" ADD CONSTRAINT "ai_connections_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "applications" ADD CONSTRAINT "applications_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "departments" ADD CONSTRAINT "departments_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "finding_comments" ADD CONSTRAINT "finding_comments_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "findings" ADD CONSTRAINT "findings_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "integrations" ADD CONSTRAINT "integrations_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "invitation_sends" ADD CONSTRAINT "invitation_sends_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "invoices" ADD CONSTRAINT "invoices_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "join_requests" ADD CONSTRAINT "join_requests_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "org_exports" ADD CONSTRAINT "org_exports_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "policies" ADD CONSTRAINT "policies_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "quota_boosts" ADD CONSTRAINT "quota_boosts_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "quota_ledger" ADD CONSTRAINT "quota_ledger_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "remediations" ADD CONSTRAINT "remediations_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "reports" ADD CONSTRAINT "reports_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "roles" ADD CONSTRAINT "roles_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "scans" ADD CONSTRAINT "scans_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "scim_groups" ADD CONSTRAINT "scim_groups_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "scim_requests" ADD CONSTRAINT "scim_requests_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "scim_tokens" ADD CONSTRAINT "scim_tokens_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "scim_users" ADD CONSTRAINT "scim_users_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "sso_group_mappings" ADD CONSTRAINT "sso_group_mappings_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "webhooks" ADD CONSTRAINT "webhooks_pkey" PRIMARY KEY ("org_id", "id");--> statement-breakpoint
ALTER TABLE "notifications" ADD CONSTRAINT "notifications_pkey" PRIMARY KEY ("user_id", "id");--> statement-breakpoint
ALTER TABLE "scan_findings" ADD CONSTRAINT "scan_findings_pkey" PRIMARY KEY ("org_id", "scan_id", "finding_id");--> statement-breakpoint
ALTER TABLE "org_export_chunks" ADD CONSTRAINT "org_export_chunks_pkey" PRIMARY KEY ("org_id", "export_id", "build_id", "seq");--> statement-breakpoint
ALTER TABLE "scan_sarif" ADD CONSTRAINT "scan_sarif_pkey" PRIMARY KEY ("org_id", "scan_id");--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_attempts_attempt_key" ON "webhook_attempts" USING btree ("org_id", "delivery_id", "attempt");--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_deliveries_event_key" ON "webhook_deliveries" USING btree ("org_id", "webhook_id", "event_id");--> statement-breakpoint
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_role_fkey" FOREIGN KEY (org_id, role_id) REFERENCES roles(org_id, id);--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_role_fkey" FOREIGN KEY (org_id, role_id) REFERENCES roles(org_id, id);--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_role_fkey" FOREIGN KEY (org_id, role_id) REFERENCES roles(org_id, id);--> statement-breakpoint
ALTER TABLE "department_members" ADD CONSTRAINT "department_members_department_fkey" FOREIGN KEY (org_id, department_id) REFERENCES departments(org_id, id) ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "departments" ADD CONSTRAINT "departments_parent_fkey" FOREIGN KEY (org_id, parent_id) REFERENCES departments(org_id, id);--> statement-breakpoint
ALTER TABLE "finding_comments" ADD CONSTRAINT "finding_comments_finding_fkey" FOREIGN KEY (org_id, finding_id) REFERENCES findings(org_id, id) ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "findings" ADD CONSTRAINT "findings_application_fkey" FOREIGN KEY (org_id, application_id) REFERENCES applications(org_id, id) ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "remediations" ADD CONSTRAINT "remediations_finding_fkey" FOREIGN KEY (org_id, finding_id) REFERENCES findings(org_id, id) ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "scan_findings" ADD CONSTRAINT "scan_findings_finding_fkey" FOREIGN KEY (org_id, finding_id) REFERENCES findings(org_id, id) ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "scan_findings" ADD CONSTRAINT "scan_findings_scan_fkey" FOREIGN KEY (org_id, scan_id) REFERENCES scans(org_id, id) ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "scans" ADD CONSTRAINT "scans_application_fkey" FOREIGN KEY (org_id, application_id) REFERENCES applications(org_id, id) ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_webhook_fkey" FOREIGN KEY (org_id, webhook_id) REFERENCES webhooks(org_id, id) ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "sso_group_mappings" ADD CONSTRAINT "sso_group_mappings_role_fkey" FOREIGN KEY (org_id, role_id) REFERENCES roles(org_id, id);--> statement-breakpoint
ALTER TABLE "sso_settings" ADD CONSTRAINT "sso_settings_default_role_fkey" FOREIGN KEY (org_id, default_role_id) REFERENCES roles(org_id, id);--> statement-breakpoint
ALTER TABLE "scim_group_members" ADD CONSTRAINT "scim_group_members_group_fkey" FOREIGN KEY (org_id, group_id) REFERENCES scim_groups(org_id, id) ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "scim_group_members" ADD CONSTRAINT "scim_group_members_user_fkey" FOREIGN KEY (org_id, scim_user_id) REFERENCES scim_users(org_id, id) ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "api_token_usage" ADD CONSTRAINT "api_token_usage_token_fkey" FOREIGN KEY ("org_id", "token_id") REFERENCES "api_tokens" ("org_id", "id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "invitation_sends" ADD CONSTRAINT "invitation_sends_invitation_fkey" FOREIGN KEY ("org_id", "invitation_id") REFERENCES "invitations" ("org_id", "id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "org_export_chunks" ADD CONSTRAINT "org_export_chunks_export_fkey" FOREIGN KEY ("org_id", "export_id") REFERENCES "org_exports" ("org_id", "id") ON DELETE CASCADE;--> statement-breakpoint
ALTER TABLE "scan_sarif" ADD CONSTRAINT "scan_sarif_scan_fkey" FOREIGN KEY ("org_id", "scan_id") REFERENCES "scans" ("org_id", "id") ON DELETE CASCADE;--> statement-breakpoint
-- A deleted token clears the scan's token_id only: the scan keeps its organization.
ALTER TABLE "scans" ADD CONSTRAINT "scans_token_fkey" FOREIGN KEY ("org_id", "token_id") REFERENCES "api_tokens" ("org_id", "id") ON DELETE SET NULL ("token_id");--> statement-breakpoint
ALTER TABLE "webhook_attempts" ADD CONSTRAINT "webhook_attempts_delivery_fkey" FOREIGN KEY ("org_id", "delivery_id") REFERENCES "webhook_deliveries" ("org_id", "id") ON DELETE CASCADE;
--> statement-breakpoint
-- The last-Owner wall (0002) looks the role up by its key, (org_id, id), now the primary key.
CREATE OR REPLACE FUNCTION gatehouse_memberships_keep_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> 'active' OR NOT EXISTS (
    SELECT 1 FROM roles WHERE org_id = OLD.org_id AND id = OLD.role_id AND slug = 'owner'
  ) THEN
    RETURN NULL;
  END IF;
  PERFORM 1 FROM organizations WHERE id = OLD.org_id AND deleted_at IS NULL FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM memberships m JOIN roles r ON r.org_id = m.org_id AND r.id = m.role_id
    WHERE m.org_id = OLD.org_id AND m.status = 'active' AND r.slug = 'owner'
  ) THEN
    RAISE EXCEPTION 'organization % would be left without an owner', OLD.org_id
      USING ERRCODE = '23514', CONSTRAINT = 'memberships_last_owner';
  END IF;
  RETURN NULL;
END
$$;
