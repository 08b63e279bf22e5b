CREATE TABLE "audit_chains" (
	"chain_id" uuid PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"head_seq" bigint NOT NULL,
	"head_hash" text NOT NULL,
	"head_at" timestamp (3) with time zone NOT NULL,
	"start_seq" bigint DEFAULT 1 NOT NULL,
	"checkpointed_seq" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "audit_chains_kind_check" CHECK ("audit_chains"."kind" IN ('org', 'user', 'instance'))
);
--> statement-breakpoint
CREATE TABLE "audit_checkpoints" (
	"chain_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"hash" text NOT NULL,
	"signed_at" timestamp (3) with time zone NOT NULL,
	"key_id" text NOT NULL,
	"signature" text NOT NULL,
	CONSTRAINT "audit_checkpoints_pkey" PRIMARY KEY("chain_id","seq","key_id")
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"chain_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"id" uuid NOT NULL,
	"occurred_at" timestamp (3) with time zone NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"actor_email" text,
	"action" text NOT NULL,
	"target_type" text NOT NULL,
	"target_id" text NOT NULL,
	"before" jsonb,
	"after" jsonb,
	"ip" text,
	"user_agent" text,
	"request_id" text,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL,
	"mac" text NOT NULL,
	"mac_key_id" text NOT NULL,
	CONSTRAINT "audit_events_pkey" PRIMARY KEY("chain_id","seq")
);
--> statement-breakpoint
CREATE TABLE "audit_keys" (
	"key_id" text PRIMARY KEY NOT NULL,
	"algorithm" text NOT NULL,
	"public_key" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "audit_events_id_key" ON "audit_events" USING btree ("id");--> statement-breakpoint
CREATE INDEX "audit_events_action_idx" ON "audit_events" USING btree ("chain_id","action","seq");--> statement-breakpoint
CREATE INDEX "audit_events_actor_idx" ON "audit_events" USING btree ("chain_id","actor_id","seq");--> statement-breakpoint
CREATE INDEX "audit_events_target_idx" ON "audit_events" USING btree ("chain_id","target_id","seq");--> statement-breakpoint
CREATE INDEX "audit_events_time_idx" ON "audit_events" USING btree ("chain_id","occurred_at");--> statement-breakpoint
-- Audit entries are written once. UPDATE is always refused; DELETE only by the retention job,
-- which declares itself for its transaction (gatehouse.audit_prune) and first moves the chain's
-- start past the entries it removes, leaving a signed checkpoint as the new anchor. Nothing can be
-- cut from the middle or the end of a chain this way. Verification also requires the retention
-- record (audit.pruned) that matches the chain's start, so a start moved any other way shows; an
-- operator who bypasses triggers is caught by verification against the signed checkpoints.
CREATE FUNCTION gatehouse_audit_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND current_setting('gatehouse.audit_prune', true) = 'on'
     AND OLD.seq < (SELECT start_seq FROM audit_chains WHERE chain_id = OLD.chain_id) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit entries cannot be changed or deleted'
    USING ERRCODE = '42501', CONSTRAINT = 'audit_events_immutable';
END
$$;--> statement-breakpoint
CREATE TRIGGER audit_events_immutable
  BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION gatehouse_audit_events_immutable();--> statement-breakpoint
CREATE FUNCTION gatehouse_audit_events_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit entries cannot be truncated'
    USING ERRCODE = '42501', CONSTRAINT = 'audit_events_immutable';
END
$$;--> statement-breakpoint
CREATE TRIGGER audit_events_no_truncate
  BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_audit_events_no_truncate();
--> statement-breakpoint
-- A chain's head only moves forward, and its start only by retention (forward too); a chain is
-- never deleted.
CREATE FUNCTION gatehouse_audit_chains_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'audit chains cannot be deleted'
      USING ERRCODE = '42501', CONSTRAINT = 'audit_chains_forward';
  END IF;
  IF NEW.chain_id <> OLD.chain_id OR NEW.kind <> OLD.kind OR NEW.head_seq < OLD.head_seq
     OR NEW.start_seq < OLD.start_seq OR NEW.checkpointed_seq < OLD.checkpointed_seq
     OR (NEW.start_seq <> OLD.start_seq AND current_setting('gatehouse.audit_prune', true) IS DISTINCT FROM 'on') THEN
    RAISE EXCEPTION 'audit chains only move forward'
      USING ERRCODE = '42501', CONSTRAINT = 'audit_chains_forward';
  END IF;
  RETURN NEW;
END
$$;--> statement-breakpoint
CREATE TRIGGER audit_chains_forward
  BEFORE UPDATE OR DELETE ON audit_chains
  FOR EACH ROW EXECUTE FUNCTION gatehouse_audit_chains_forward();--> statement-breakpoint
-- Signed checkpoints and published keys are written once; retention removes checkpoints of
-- entries it removed (below the anchor it keeps).
CREATE FUNCTION gatehouse_audit_signed_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'audit_checkpoints' AND TG_OP = 'DELETE'
     AND current_setting('gatehouse.audit_prune', true) = 'on'
     AND OLD.seq < (SELECT start_seq - 1 FROM audit_chains WHERE chain_id = OLD.chain_id) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% rows cannot be changed or deleted', TG_TABLE_NAME
    USING ERRCODE = '42501', CONSTRAINT = 'audit_signed_immutable';
END
$$;--> statement-breakpoint
CREATE TRIGGER audit_checkpoints_immutable
  BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION gatehouse_audit_signed_immutable();--> statement-breakpoint
CREATE TRIGGER audit_keys_immutable
  BEFORE UPDATE OR DELETE ON audit_keys
  FOR EACH ROW EXECUTE FUNCTION gatehouse_audit_signed_immutable();--> statement-breakpoint
CREATE TRIGGER audit_signed_no_truncate
  BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_audit_events_no_truncate();--> statement-breakpoint
CREATE TRIGGER audit_keys_no_truncate
  BEFORE TRUNCATE ON audit_keys
  FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_audit_events_no_truncate();--> statement-breakpoint
CREATE TRIGGER audit_chains_no_truncate
  BEFORE TRUNCATE ON audit_chains
  FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_audit_events_no_truncate();
