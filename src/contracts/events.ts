/**
 * The events Gatehouse emits (the webhook catalog) and the `data` each carries: what webhook
 * receivers get as `{type, timestamp, data}`, what notifications and Slack read. The server's
 * commands build these shapes; receivers and the console read them. Times are RFC 3339 UTC.
 *
 * Every `data` names its organization (`orgId`). Fields may be added; none is renamed.
 */
import type { FindingSeverity, FindingStatus } from './findings.ts';
import type { ScanModule } from './scans.ts';

/** The catalog, in display order. */
export const EVENT_TYPES = [
  'scan.scheduled',
  'scan.started',
  'scan.completed',
  'finding.created',
  'finding.resolved',
  'member.added',
  'member.removed',
  'member.role_changed',
  'quota.threshold_reached',
  'audit.entry',
  'audit.checkpoint',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** What a webhook's test button sends: never emitted as an event, only to the one endpoint. */
export const TEST_EVENT_TYPE = 'webhook.test';

/** Findings counted by severity (a scan's results). */
export interface SeverityCounts {
  total: number;
  critical: number;
  high: number;
  medium: number;
  low: number;
}

/** Who caused an event: a member, an automation token, SCIM, an operator or Gatehouse itself. */
export interface EventActor {
  type: 'user' | 'token' | 'scim' | 'system' | 'operator' | 'anonymous';
  /** The user's or token's id; null for the system and operators. */
  id: string | null;
}

/**
 * `scan.scheduled`: an application is due for a scan, by the org's schedule (Settings → Platform)
 * or because autonomous scanning is on and the application was just created. Gatehouse does not
 * run scanners: the receiver (a CI trigger, a scanner service) runs them and uploads the results.
 */
export interface ScanScheduledData {
  orgId: string;
  application: { id: string; name: string; repositoryUrl: string | null };
  reason: 'schedule' | 'application_created';
  /** The schedule that fell due (`reason: schedule`), and the slot it fell due at. */
  schedule: { frequency: 'weekly' | 'monthly'; slot: string } | null;
  /**
   * What the org asks of scanners and remediation. Fix verification and deep AI enrichment are
   * true only while they are on and the org's plan includes them.
   */
  options: { fixVerification: boolean; deepAiEnrichment: boolean; remediationLanguage: string };
}

export interface ScanStartedData {
  orgId: string;
  scan: {
    id: string;
    modules: ScanModule[];
    tokens: number;
    createdAt: string;
  };
  application: { id: string; name: string };
  startedBy: EventActor;
}

export interface ScanCompletedData {
  orgId: string;
  scan: {
    id: string;
    status: 'completed' | 'failed';
    modules: ScanModule[];
    tokens: number;
    /** SARIF tool names seen (`runs[].tool.driver.name`). */
    tools: string[];
    createdAt: string;
    completedAt: string;
  };
  application: { id: string; name: string };
  /** Findings the scan saw, by severity (new and seen again). */
  counts: SeverityCounts;
  /** Findings first seen in this scan. */
  newFindings: number;
  modules: ScanModule[];
  /** How long Gatehouse took to process the results, in milliseconds. */
  durationMs: number;
  policy: { passed: boolean; violations: number };
}

/** A finding as events carry it. */
export interface EventFinding {
  id: string;
  applicationId: string;
  ruleId: string;
  title: string;
  severity: FindingSeverity;
  status: FindingStatus;
  location: { path?: string; startLine?: number; endLine?: number; startColumn?: number } | null;
  fingerprint: string;
  tool: string | null;
  firstSeenAt: string;
}

export interface FindingCreatedData {
  orgId: string;
  finding: EventFinding;
  /** The scan that first saw it. */
  scan: { id: string };
  application: { id: string; name: string };
}

export interface FindingResolvedData {
  orgId: string;
  finding: Omit<EventFinding, 'status'> & { status: 'resolved' };
  previousStatus: FindingStatus;
  resolvedBy: EventActor;
  resolvedAt: string;
}

/** A member as events name them. */
export interface EventMember {
  userId: string;
  email: string;
  name: string;
}

export interface MemberAddedData {
  orgId: string;
  member: EventMember;
  /** The role's slug and its name. */
  role: string;
  roleName: string;
  /** How they came in. */
  via: 'invitation' | 'join_request' | 'break_glass' | 'scim' | 'sso';
  addedBy: EventActor;
}

export interface MemberRemovedData {
  orgId: string;
  member: EventMember;
  /** The role they held. */
  role: string;
  /** `removed` by someone, `left` of their own accord, `account_deleted`. */
  reason: 'removed' | 'left' | 'account_deleted' | 'deprovisioned';
  removedBy: EventActor;
}

export interface MemberRoleChangedData {
  orgId: string;
  member: EventMember;
  previousRole: string;
  role: string;
  roleName: string;
  /** `changed` directly, `ownership_transferred`, `role_deleted` (moved off a deleted role), `break_glass`. */
  reason: 'changed' | 'ownership_transferred' | 'role_deleted' | 'break_glass';
  changedBy: EventActor;
}

export interface QuotaThresholdReachedData {
  orgId: string;
  /** 50, 75, 90 or 100 (% of the month's pool). */
  percent: number;
  /** `YYYY-MM` (UTC). */
  month: string;
  used: number;
  limit: number;
}

/** `audit.entry`: the entry in OCSF 1.x form (class API Activity, 6003), see the README. */
export type AuditEntryData = Record<string, unknown>;

/** `audit.checkpoint`: a signed statement of the head of the organization's audit chain. */
export interface AuditCheckpointData {
  orgId: string;
  seq: number;
  hash: string;
  signedAt: string;
  keyId: string;
  signature: string;
}

export interface WebhookTestData {
  orgId: string;
  webhookId: string;
  message: string;
}

/** Each event type's data. */
export interface EventData {
  'scan.scheduled': ScanScheduledData;
  'scan.started': ScanStartedData;
  'scan.completed': ScanCompletedData;
  'finding.created': FindingCreatedData;
  'finding.resolved': FindingResolvedData;
  'member.added': MemberAddedData;
  'member.removed': MemberRemovedData;
  'member.role_changed': MemberRoleChangedData;
  'quota.threshold_reached': QuotaThresholdReachedData;
  'audit.entry': AuditEntryData;
  'audit.checkpoint': AuditCheckpointData;
}

/** The body of every webhook delivery. */
export interface WebhookPayload<T extends EventType | typeof TEST_EVENT_TYPE = EventType> {
  type: T;
  /** When the event happened. */
  timestamp: string;
  data: T extends EventType ? EventData[T] : WebhookTestData;
}

/** A webhook as the API sends it (never its secret). */
export interface WebhookView {
  id: string;
  url: string;
  description: string | null;
  events: EventType[];
  enabled: boolean;
  /** Why Gatehouse turned it off: it answered 410 (`gone`), or failed for 5 days (`failing`). */
  disabledReason: 'gone' | 'failing' | null;
  disabledAt: string | null;
  /** Since when every attempt has failed (null while it answers). */
  failingSince: string | null;
  /** Until when the secret before the last rotation still signs. */
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** POST …/webhooks: the webhook, and its secret this once. */
export interface CreatedWebhook extends WebhookView {
  secret: string;
}

/** One attempt in a webhook's delivery log. */
export interface WebhookDeliveryView {
  id: string;
  eventId: string;
  type: EventType | typeof TEST_EVENT_TYPE;
  attempt: number;
  state: 'pending' | 'delivered' | 'failed';
  responseStatus: number | null;
  responseBody: string | null;
  durationMs: number | null;
  error: string | null;
  at: string;
  nextAttemptAt: string | null;
}

/** POST …/webhooks/{id}/test */
export interface WebhookTestResult {
  delivered: boolean;
  status: number | null;
  body: string | null;
  durationMs: number;
  error?: string;
}
