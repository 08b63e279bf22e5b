import { type SQL, sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  customType,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

/** Raw bytes (hashes). */
const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => (Buffer.isBuffer(value) ? value : Buffer.from(value)),
});

// Millisecond precision everywhere: times round-trip through JS Dates and keyset cursors exactly.
const createdAt = () =>
  timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull().defaultNow();
const time = (name: string) => timestamp(name, { withTimezone: true, mode: 'date', precision: 3 });

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    passwordHash: text('password_hash').notNull(),
    locale: text('locale'),
    timezone: text('timezone'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date', precision: 3 })
      .notNull()
      .defaultNow(),
    passwordChangedAt: timestamp('password_changed_at', { withTimezone: true, mode: 'date', precision: 3 })
      .notNull()
      .defaultNow(),
    /**
     * Set by an operator (`gatehouse operator users disable`): sign-in is refused and no session or
     * personal token of the account is honoured until it is cleared.
     */
    disabledAt: time('disabled_at'),
    /** The address was proven: a link mailed to it was followed, or an invitation sent to it accepted. */
    emailVerifiedAt: time('email_verified_at'),
    /**
     * TOTP (RFC 6238): the confirmed secret, sealed with platform/secrets (context `totp:<userId>`);
     * NULL when 2FA is off. `totp_enabled_at` is set exactly when it is.
     */
    totpSecret: text('totp_secret'),
    /** A secret handed out by enrolment and not yet confirmed with a code (sealed, `totp-pending:<userId>`). */
    totpPendingSecret: text('totp_pending_secret'),
    totpEnabledAt: time('totp_enabled_at'),
    /**
     * The highest time step a code was accepted for: a code is accepted only for a later step
     * (`UPDATE … WHERE totp_last_step < $step`), so none is used twice, even in parallel.
     */
    totpLastStep: bigint('totp_last_step', { mode: 'number' }).notNull().default(0),
    /** The account was deleted by its owner: the row stays (as "deleted user") so history keeps its ids. */
    deletedAt: time('deleted_at'),
  },
  (t) => [
    // Emails are stored normalised (normalizeEmail: Alice@x.io is alice@x.io), so the database
    // compares them as they are and never folds case itself.
    uniqueIndex('users_email_key').on(t.email),
    // Member search matches any part of a name or email (trigram indexes serve `LIKE '%q%'`).
    // No pending list (fastupdate): until a vacuum merged it, every search would read all of it,
    // and the planner, pricing it in, would scan the whole table instead.
    index('users_name_trgm_idx').using('gin', sql`lower(${t.name}) gin_trgm_ops`).with({ fastupdate: false }),
    index('users_email_search_trgm_idx')
      .using('gin', sql`${t.email} gin_trgm_ops`)
      .with({ fastupdate: false }),
    // Searches of one or two characters match the start of a name or email instead.
    index('users_name_prefix_idx').on(sql`lower(${t.name}) text_pattern_ops`),
    index('users_email_search_prefix_idx').on(sql`${t.email} text_pattern_ops`),
  ],
);

/**
 * Server-side sessions. The cookie carries a random token; only its SHA-256 is stored, so a
 * database leak does not hand out live sessions. Ending a session deletes its row.
 */
export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: bytea('token_hash').notNull(),
    createdAt: createdAt(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true, mode: 'date', precision: 3 })
      .notNull()
      .defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date', precision: 3 }).notNull(),
    ip: text('ip'),
    userAgent: text('user_agent'),
    /**
     * When the user last proved who they are on this session (signing in, or re-entering the
     * password): adding a credential asks for a recent proof, so a stolen cookie alone cannot.
     */
    authenticatedAt: time('authenticated_at').notNull().defaultNow(),
    /**
     * How the session was signed in (RFC 8176 method names): `pwd`, plus `otp` for a TOTP code,
     * `rc` for a recovery code, `hwk` for a passkey. Empty for sessions older than the column.
     */
    amr: text('amr').array().notNull().default(sql`'{}'`),
    /**
     * The organization whose identity provider signed this session in (SSO, `amr` `ext`); null
     * for every other way. An org that enforces SSO accepts only its own.
     */
    ssoOrgId: uuid('sso_org_id').references(() => organizations.id, { onDelete: 'set null' }),
  },
  (t) => [uniqueIndex('sessions_token_hash_key').on(t.tokenHash), index('sessions_user_id_idx').on(t.userId)],
);

/**
 * Throttled attempts inside their window: sign-ins, password changes and sign-ups, each counted
 * on its own (`kind`). A row is written before the password is checked (so concurrent guesses
 * count against each other); a sign-in or password change that succeeds deletes the rows it
 * clears, a refused attempt deletes its own.
 */
export const loginAttempts = pgTable(
  'login_attempts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    kind: text('kind').notNull().default('login'),
    accountKey: text('account_key').notNull(),
    ip: text('ip').notNull(),
    deviceId: uuid('device_id'),
    createdAt: createdAt(),
  },
  (t) => [
    index('login_attempts_account_idx').on(t.accountKey, t.createdAt),
    index('login_attempts_kind_ip_idx').on(t.kind, t.ip, t.createdAt),
    index('login_attempts_device_idx').on(t.deviceId, t.createdAt),
  ],
);

/**
 * Browsers that signed in successfully. A login presenting a device cookie that belongs to the
 * account is throttled on its own counter, so an attacker guessing a password cannot lock the
 * real user out (OWASP "device cookies").
 */
export const trustedDevices = pgTable(
  'trusted_devices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: bytea('token_hash').notNull(),
    createdAt: createdAt(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date', precision: 3 })
      .notNull()
      .defaultNow(),
  },
  (t) => [
    uniqueIndex('trusted_devices_token_hash_key').on(t.tokenHash),
    index('trusted_devices_user_idx').on(t.userId),
  ],
);

/**
 * Organizations. Deletion marks the row (`deleted_at`): access ends at once, the slug is free
 * again, and the data stays for the operator until it is purged.
 */
export const organizations = pgTable(
  'organizations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    contactEmail: text('contact_email'),
    website: text('website'),
    industry: text('industry'),
    teamEmails: text('team_emails').array().notNull().default(sql`'{}'`),
    invoiceRecipients: text('invoice_recipients').array().notNull().default(sql`'{}'`),
    plan: text('plan').notNull().default('free'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: time('updated_at').notNull().defaultNow(),
    deletedAt: time('deleted_at'),
    /**
     * Set by an operator (`gatehouse operator orgs suspend`): every org-scoped route answers 403
     * `org_suspended` to its members and tokens until it is cleared. The data and memberships stay.
     */
    suspendedAt: time('suspended_at'),
    /** Security policy: members without 2FA are refused on the org's routes (403 two_factor_required). */
    require2fa: boolean('require_2fa').notNull().default(false),
    /** Idle minutes after which a session of a member ends; NULL follows the installation's timeout. */
    sessionIdleMinutes: integer('session_idle_minutes'),
    /** CIDR blocks requests to the org's routes must come from (empty: any address). */
    ipAllowlist: text('ip_allowlist').array().notNull().default(sql`'{}'`),
    // ---- Settings → Platform ----
    /** Scheduled scans: `none`, `weekly` or `monthly` (a `scan.scheduled` event per application). */
    scanSchedule: text('scan_schedule').notNull().default('none'),
    /** The day scheduled scans fall on: ISO weekday 1–7 (weekly) or day of the month 1–28 (monthly). */
    scanScheduleDay: smallint('scan_schedule_day').notNull().default(1),
    /** The hour (0–23) scheduled scans fall at, in the org's time zone. */
    scanScheduleHour: smallint('scan_schedule_hour').notNull().default(2),
    /**
     * The last schedule slot emitted (or, when the schedule was set, the moment it was): the
     * scheduler emits a slot only by moving this forward (`… WHERE scans_scheduled_at < $slot`), so
     * several instances emit each slot once.
     */
    scansScheduledAt: time('scans_scheduled_at'),
    /** A new application is scanned at once (`scan.scheduled` with reason `application_created`). */
    autonomousScanning: boolean('autonomous_scanning').notNull().default(false),
    fixVerification: boolean('fix_verification').notNull().default(false),
    deepAiEnrichment: boolean('deep_ai_enrichment').notNull().default(false),
    /** The language AI-written fixes and summaries are in (BCP 47). */
    remediationLanguage: text('remediation_language').notNull().default('en'),
    // ---- Settings → Language (a member's own choice wins) ----
    language: text('language').notNull().default('en'),
    /** The IANA zone times are shown in; NULL: each reader's own (their browser's). */
    timezone: text('timezone'),
    /** `locale` (the reader's language decides), `iso`, `dmy` or `mdy`. */
    dateFormat: text('date_format').notNull().default('locale'),
    /** An admin hid the setup checklist on the org's home page. */
    setupDismissedAt: time('setup_dismissed_at'),
    /**
     * Settings → Data & Privacy: scans older than this many days are deleted by the daily
     * retention job, with the findings no remaining scan saw (see scans.repository.ts).
     */
    scanRetentionDays: integer('scan_retention_days').notNull().default(365),
  },
  (t) => [
    uniqueIndex('organizations_slug_key').on(sql`lower(${t.slug})`).where(sql`${t.deletedAt} IS NULL`),
    check('organizations_scan_schedule_check', sql`${t.scanSchedule} IN ('none', 'weekly', 'monthly')`),
    check('organizations_date_format_check', sql`${t.dateFormat} IN ('locale', 'iso', 'dmy', 'mdy')`),
    // Only scheduled orgs are walked by the scheduler.
    index('organizations_scheduled_idx')
      .on(t.scansScheduledAt)
      .where(sql`${t.scanSchedule} <> 'none' AND ${t.deletedAt} IS NULL`),
    check('organizations_scan_retention_check', sql`${t.scanRetentionDays} BETWEEN 30 AND 730`),
    // The purge of organizations deleted longer ago than the grace period.
    index('organizations_deleted_idx').on(t.deletedAt).where(sql`${t.deletedAt} IS NOT NULL`),
  ],
);

/** An organization's logo, apart from the profile so reading the profile never loads the bytes. */
export const orgLogos = pgTable('org_logos', {
  orgId: uuid('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  contentType: text('content_type').notNull(),
  bytes: bytea('bytes').notNull(),
  sha256: text('sha256').notNull(),
  updatedAt: time('updated_at').notNull().defaultNow(),
});

/**
 * Roles of one organization: its copies of the built-in roles (`builtin`) and its custom roles.
 * Permissions are stored as catalog keys; the Owner role's set is ignored (an Owner holds every
 * permission).
 */
export const roles = pgTable(
  'roles',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    permissions: text('permissions').array().notNull(),
    builtin: boolean('builtin').notNull().default(false),
    createdAt: createdAt(),
    updatedAt: time('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'roles_pkey', columns: [t.orgId, t.id] }),
    unique('roles_org_slug_key').on(t.orgId, t.slug),
    // Lets memberships and invitations reference (org, role): a role of another org cannot be used.
  ],
);

/**
 * Who belongs to which organization. One row per (org, user), ever: removal keeps the row
 * (`removed`) for history, and a re-invited member gets the same row back. "Inactive" is not
 * stored: it is an active member whose last activity is over 30 days old.
 */
export const memberships = pgTable(
  'memberships',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    roleId: uuid('role_id').notNull(),
    status: text('status').notNull().default('active'),
    joinedAt: time('joined_at').notNull().defaultNow(),
    lastActiveAt: time('last_active_at'),
    removedAt: time('removed_at'),
    /**
     * Until when this member may use the org without its SSO while SSO is enforced: set by
     * `gatehouse break-glass` (the way in when the IdP is down or misconfigured), for a day.
     */
    ssoBypassUntil: time('sso_bypass_until'),
  },
  (t) => [
    primaryKey({ name: 'memberships_pkey', columns: [t.orgId, t.userId] }),
    foreignKey({
      name: 'memberships_role_fkey',
      columns: [t.orgId, t.roleId],
      foreignColumns: [roles.orgId, roles.id],
    }),
    check('memberships_status_check', sql`${t.status} IN ('active', 'removed')`),
    // The member list: one org's members by status, newest first (keyset on joined_at, user_id).
    index('memberships_org_list_idx').on(t.orgId, t.status, t.joinedAt, t.userId),
    // A role's members (the role filter, and the role foreign key), in list order.
    index('memberships_org_role_idx').on(t.orgId, t.roleId, t.status, t.joinedAt, t.userId),
    index('memberships_user_idx').on(t.userId),
  ],
);

/**
 * Invitations by email. The link carries a random token; only its SHA-256 is stored. "Expired" is
 * not stored: a pending invitation past `expires_at`. At most one pending invitation per
 * (org, email): inviting again renews it.
 */
export const invitations = pgTable(
  'invitations',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    roleId: uuid('role_id').notNull(),
    tokenHash: bytea('token_hash').notNull(),
    status: text('status').notNull().default('pending'),
    invitedBy: uuid('invited_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    sentAt: time('sent_at').notNull().defaultNow(),
    sendCount: integer('send_count').notNull().default(1),
    expiresAt: time('expires_at').notNull(),
    acceptedAt: time('accepted_at'),
    acceptedBy: uuid('accepted_by').references(() => users.id, { onDelete: 'set null' }),
    cancelledAt: time('cancelled_at'),
  },
  (t) => [
    primaryKey({ name: 'invitations_pkey', columns: [t.orgId, t.id] }),
    foreignKey({
      name: 'invitations_role_fkey',
      columns: [t.orgId, t.roleId],
      foreignColumns: [roles.orgId, roles.id],
    }),
    check('invitations_status_check', sql`${t.status} IN ('pending', 'accepted', 'cancelled')`),
    uniqueIndex('invitations_token_hash_key').on(t.tokenHash),
    // Emails are stored normalised (normalizeEmail), as for users.
    uniqueIndex('invitations_pending_normalized_email_key')
      .on(t.orgId, t.email)
      .where(sql`${t.status} = 'pending'`),
    index('invitations_org_list_idx').on(t.orgId, t.createdAt, t.id),
  ],
);

/**
 * Every invitation email sent (first send, renewal, resend): what the per-organization and
 * per-address send limits count (an address's sends through its invitations' emails), shared by
 * every instance. Rows past a day are purged as new
 * ones are written.
 */
export const invitationSends = pgTable(
  'invitation_sends',
  {
    id: bigserial('id', { mode: 'number' }).notNull(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    invitationId: uuid('invitation_id').notNull(),
    /** The invitation was sent before: a resend, or the same pending address invited again. */
    resend: boolean('resend').notNull(),
    sentAt: time('sent_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'invitation_sends_pkey', columns: [t.orgId, t.id] }),
    foreignKey({
      name: 'invitation_sends_invitation_fkey',
      columns: [t.orgId, t.invitationId],
      foreignColumns: [invitations.orgId, invitations.id],
    }).onDelete('cascade'),
    index('invitation_sends_org_idx').on(t.orgId, t.sentAt),
    index('invitation_sends_invitation_idx').on(t.invitationId, t.sentAt),
  ],
);

/** An organization's share link (at most one live link; rotating replaces the token). */
export const joinLinks = pgTable(
  'join_links',
  {
    orgId: uuid('org_id')
      .primaryKey()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    tokenHash: bytea('token_hash').notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('join_links_token_hash_key').on(t.tokenHash)],
);

/** Requests to join through the share link, waiting for an admin's approval. */
export const joinRequests = pgTable(
  'join_requests',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    status: text('status').notNull().default('pending'),
    createdAt: createdAt(),
    decidedAt: time('decided_at'),
    decidedBy: uuid('decided_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [
    primaryKey({ name: 'join_requests_pkey', columns: [t.orgId, t.id] }),
    check('join_requests_status_check', sql`${t.status} IN ('pending', 'approved', 'denied')`),
    uniqueIndex('join_requests_pending_key').on(t.orgId, t.userId).where(sql`${t.status} = 'pending'`),
    index('join_requests_org_list_idx').on(t.orgId, t.status, t.createdAt, t.id),
  ],
);

/**
 * Each audit chain's head: one row per organization's log and per user's account log. Appending
 * locks this row, so one chain grows by one writer at a time with no fork and no gap. `start_seq`
 * is the first entry retention kept; a signed checkpoint at `start_seq - 1` anchors it.
 */
export const auditChains = pgTable(
  'audit_chains',
  {
    chainId: uuid('chain_id').primaryKey(),
    kind: text('kind').notNull(),
    headSeq: bigint('head_seq', { mode: 'number' }).notNull(),
    headHash: text('head_hash').notNull(),
    headAt: time('head_at').notNull(),
    startSeq: bigint('start_seq', { mode: 'number' }).notNull().default(1),
    /** The highest entry signed so far (the periodic job signs chains whose head is past it). */
    checkpointedSeq: bigint('checkpointed_seq', { mode: 'number' }).notNull().default(0),
  },
  (t) => [check('audit_chains_kind_check', sql`${t.kind} IN ('org', 'user', 'instance')`)],
);

/**
 * Audit entries. Rows are never updated; deletes only by retention, below `start_seq` (a trigger
 * refuses anything else). No foreign keys: the log outlives the users and orgs it names.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    chainId: uuid('chain_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    id: uuid('id').notNull(),
    occurredAt: time('occurred_at').notNull(),
    actorType: text('actor_type').notNull(),
    actorId: text('actor_id'),
    actorEmail: text('actor_email'),
    /** The personal token a user acted through (null for a session, and for every other actor). */
    actorTokenId: uuid('actor_token_id'),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    /**
     * The target in words as it was when the entry was written (a name; a member's or invitee's
     * email). Null: the entry has none (entries written before these were kept hash without them).
     */
    targetName: text('target_name'),
    targetEmail: text('target_email'),
    before: jsonb('before').$type<Record<string, unknown>>(),
    after: jsonb('after').$type<Record<string, unknown>>(),
    ip: text('ip'),
    userAgent: text('user_agent'),
    requestId: text('request_id'),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
    /** HMAC of `hash` under the writing installation's key (see SigningKey.macKey); not exported. */
    mac: text('mac').notNull(),
    /** The signing key whose MAC key wrote it. */
    macKeyId: text('mac_key_id').notNull(),
  },
  (t) => [
    primaryKey({ name: 'audit_events_pkey', columns: [t.chainId, t.seq] }),
    uniqueIndex('audit_events_id_key').on(t.id),
    index('audit_events_action_idx').on(t.chainId, t.action, t.seq),
    index('audit_events_actor_idx').on(t.chainId, t.actorId, t.seq),
    index('audit_events_target_idx').on(t.chainId, t.targetId, t.seq),
    index('audit_events_time_idx').on(t.chainId, t.occurredAt),
  ],
);

/** Signed statements that entry `seq` of a chain had `hash` at `signed_at`. */
export const auditCheckpoints = pgTable(
  'audit_checkpoints',
  {
    chainId: uuid('chain_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    hash: text('hash').notNull(),
    signedAt: time('signed_at').notNull(),
    keyId: text('key_id').notNull(),
    signature: text('signature').notNull(),
  },
  (t) => [primaryKey({ name: 'audit_checkpoints_pkey', columns: [t.chainId, t.seq, t.keyId] })],
);

/** Public halves of every key that has signed checkpoints (private keys never reach the database). */
export const auditKeys = pgTable('audit_keys', {
  keyId: text('key_id').primaryKey(),
  algorithm: text('algorithm').notNull(),
  publicKey: text('public_key').notNull(),
  createdAt: createdAt(),
});

/**
 * API tokens. `personal` tokens belong to a user and reach one organization, with scopes that the
 * user's current role there narrows on every request; `automation` tokens belong to the
 * organization and act with a role of it. Only the token's SHA-256 is stored. Revocation marks the
 * row (the usage log and the audit trail keep naming it).
 */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').notNull().defaultRandom(),
    kind: text('kind').notNull(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** The owner of a personal token; null for automation tokens. */
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    /** The role an automation token acts with; null for personal tokens. */
    roleId: uuid('role_id'),
    name: text('name').notNull(),
    scopes: text('scopes').array().notNull(),
    tokenHash: bytea('token_hash').notNull(),
    /** The last four characters, to tell tokens apart in a list. */
    lastFour: text('last_four').notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    expiresAt: time('expires_at'),
    lastUsedAt: time('last_used_at'),
    lastUsedIp: text('last_used_ip'),
    revokedAt: time('revoked_at'),
    revokedBy: uuid('revoked_by'),
  },
  (t) => [
    primaryKey({ name: 'api_tokens_pkey', columns: [t.orgId, t.id] }),
    check('api_tokens_kind_check', sql`${t.kind} IN ('personal', 'automation')`),
    check(
      'api_tokens_owner_check',
      sql`(${t.kind} = 'personal' AND ${t.userId} IS NOT NULL AND ${t.roleId} IS NULL)
        OR (${t.kind} = 'automation' AND ${t.userId} IS NULL AND ${t.roleId} IS NOT NULL)`,
    ),
    // An automation token's role is a role of its own organization, and a role is not deleted
    // from under a token (deleting a role moves its tokens first).
    foreignKey({
      name: 'api_tokens_role_fkey',
      columns: [t.orgId, t.roleId],
      foreignColumns: [roles.orgId, roles.id],
    }),
    uniqueIndex('api_tokens_token_hash_key').on(t.tokenHash),
    index('api_tokens_user_list_idx').on(t.userId, t.createdAt, t.id),
    index('api_tokens_org_list_idx').on(t.orgId, t.kind, t.createdAt, t.id),
    index('api_tokens_role_idx').on(t.orgId, t.roleId),
  ],
);

/**
 * Requests made with automation tokens: when, from where, what, and the answer. Kept bounded: the
 * newest rows per token (see TokenService), the rest deleted as new ones arrive.
 */
export const apiTokenUsage = pgTable(
  'api_token_usage',
  {
    id: bigserial('id', { mode: 'number' }).notNull(),
    orgId: uuid('org_id').notNull(),
    tokenId: uuid('token_id').notNull(),
    at: time('at').notNull(),
    ip: text('ip'),
    method: text('method').notNull(),
    route: text('route').notNull(),
    status: integer('status').notNull(),
    /** Requests alike in all but time within one second share a row: how many (`at` is the last). */
    count: integer('count').notNull().default(1),
  },
  (t) => [
    primaryKey({ name: 'api_token_usage_pkey', columns: [t.orgId, t.id] }),
    foreignKey({
      name: 'api_token_usage_token_fkey',
      columns: [t.orgId, t.tokenId],
      foreignColumns: [apiTokens.orgId, apiTokens.id],
    }).onDelete('cascade'),
    index('api_token_usage_token_idx').on(t.tokenId, t.id),
  ],
);

/**
 * Recovery codes of a user's 2FA: ten per set, only their SHA-256 stored. Using one marks it
 * (`UPDATE … WHERE used_at IS NULL`), so a code is used once even by parallel requests; a new set
 * deletes the old one.
 */
export const recoveryCodes = pgTable(
  'recovery_codes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: bytea('code_hash').notNull(),
    createdAt: createdAt(),
    usedAt: time('used_at'),
  },
  (t) => [uniqueIndex('recovery_codes_user_code_key').on(t.userId, t.codeHash)],
);

/** WebAuthn credentials (passkeys) of a user, each named by them. */
export const passkeys = pgTable(
  'passkeys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The credential id as the authenticator gave it (base64url). */
    credentialId: text('credential_id').notNull(),
    publicKey: bytea('public_key').notNull(),
    /** The signature counter last seen (0 for authenticators that keep none, such as synced passkeys). */
    counter: bigint('counter', { mode: 'number' }).notNull().default(0),
    transports: text('transports').array().notNull().default(sql`'{}'`),
    name: text('name').notNull(),
    aaguid: text('aaguid'),
    deviceType: text('device_type'),
    backedUp: boolean('backed_up').notNull().default(false),
    createdAt: createdAt(),
    lastUsedAt: time('last_used_at'),
  },
  (t) => [
    uniqueIndex('passkeys_credential_id_key').on(t.credentialId),
    index('passkeys_user_idx').on(t.userId, t.createdAt),
  ],
);

/**
 * Challenges handed out by the WebAuthn options routes, each usable once (deleted when a response
 * names it) and only until it expires; `user_id` is set for a registration and for a sign-in that
 * named its account.
 */
export const webauthnChallenges = pgTable(
  'webauthn_challenges',
  {
    challenge: text('challenge').primaryKey(),
    purpose: text('purpose').notNull(),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: time('expires_at').notNull(),
  },
  (t) => [
    check('webauthn_challenges_purpose_check', sql`${t.purpose} IN ('registration', 'authentication')`),
    index('webauthn_challenges_expiry_idx').on(t.expiresAt),
  ],
);

/**
 * Links mailed to a user that prove something when followed: the address is theirs
 * (`email_verification`), they may set a new password (`password_reset`), a new address is theirs
 * (`email_change`, with `new_email`). Only the token's SHA-256 is stored; each is used once.
 */
export const accountTokens = pgTable(
  'account_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    purpose: text('purpose').notNull(),
    tokenHash: bytea('token_hash').notNull(),
    newEmail: text('new_email'),
    createdAt: createdAt(),
    expiresAt: time('expires_at').notNull(),
    usedAt: time('used_at'),
  },
  (t) => [
    check(
      'account_tokens_purpose_check',
      sql`${t.purpose} IN ('email_verification', 'password_reset', 'email_change')`,
    ),
    uniqueIndex('account_tokens_token_hash_key').on(t.tokenHash),
    index('account_tokens_user_idx').on(t.userId, t.purpose, t.createdAt),
  ],
);

/**
 * Tokens a scan spends per module. The defaults are seeded by the migration; an operator changes
 * them (`gatehouse operator plans set-module-cost`), and `GET /plans` shows them.
 */
export const moduleCosts = pgTable(
  'module_costs',
  {
    module: text('module').primaryKey(),
    tokens: integer('tokens').notNull(),
    updatedAt: time('updated_at').notNull().defaultNow(),
  },
  (t) => [
    check('module_costs_module_check', sql`${t.module} IN ('dependencies', 'sast', 'secrets', 'api')`),
    check('module_costs_tokens_check', sql`${t.tokens} >= 0`),
  ],
);

/** The applications (repositories, services) an organization scans. */
export const applications = pgTable(
  'applications',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    repositoryUrl: text('repository_url'),
    description: text('description'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: time('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'applications_pkey', columns: [t.orgId, t.id] }),
    uniqueIndex('applications_org_name_key').on(t.orgId, sql`lower(${t.name})`),
    // Lets scans, findings and policies reference (org, application): another org's cannot be used.
    index('applications_org_list_idx').on(t.orgId, t.createdAt, t.id),
  ],
);

/**
 * Scans of an application. A scan with results (SARIF) is `completed` at once; one created without
 * them is `pending` until results arrive. `tokens` is what it cost; the counts and the policy
 * result are fixed when its results are ingested.
 */
export const scans = pgTable(
  'scans',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    applicationId: uuid('application_id').notNull(),
    modules: text('modules').array().notNull(),
    status: text('status').notNull(),
    tokens: integer('tokens').notNull(),
    /** The member who started it (a personal token's owner too); null for an automation token. */
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    /** The API token it came through, if any. */
    tokenId: uuid('token_id'),
    /** SARIF tool names seen (`runs[].tool.driver.name`). */
    tools: text('tools').array().notNull().default(sql`'{}'`),
    findingsTotal: integer('findings_total').notNull().default(0),
    findingsCritical: integer('findings_critical').notNull().default(0),
    findingsHigh: integer('findings_high').notNull().default(0),
    findingsMedium: integer('findings_medium').notNull().default(0),
    findingsLow: integer('findings_low').notNull().default(0),
    /** `{passed, violations: [{policyId, name, failOn, findingIds}]}` as answered at ingestion. */
    policy: jsonb('policy').notNull().default(sql`'{"passed": true, "violations": []}'::jsonb`),
    createdAt: createdAt(),
    completedAt: time('completed_at'),
  },
  (t) => [
    primaryKey({ name: 'scans_pkey', columns: [t.orgId, t.id] }),
    // The migration writes ON DELETE SET NULL (token_id): a deleted token leaves the scan its org.
    foreignKey({
      name: 'scans_token_fkey',
      columns: [t.orgId, t.tokenId],
      foreignColumns: [apiTokens.orgId, apiTokens.id],
    }).onDelete('set null'),
    check('scans_status_check', sql`${t.status} IN ('pending', 'completed', 'failed')`),
    check('scans_tokens_check', sql`${t.tokens} >= 0`),
    foreignKey({
      name: 'scans_application_fkey',
      columns: [t.orgId, t.applicationId],
      foreignColumns: [applications.orgId, applications.id],
    }).onDelete('cascade'),
    index('scans_org_list_idx').on(t.orgId, t.createdAt, t.id),
    index('scans_org_app_idx').on(t.orgId, t.applicationId, t.createdAt, t.id),
  ],
);

/** The SARIF log a scan was created with, gzip-compressed, for `export?format=sarif`. */
export const scanSarif = pgTable(
  'scan_sarif',
  {
    orgId: uuid('org_id').notNull(),
    scanId: uuid('scan_id').notNull(),
    gzip: bytea('gzip').notNull(),
    bytes: integer('bytes').notNull(),
  },
  (t) => [
    primaryKey({ name: 'scan_sarif_pkey', columns: [t.orgId, t.scanId] }),
    foreignKey({
      name: 'scan_sarif_scan_fkey',
      columns: [t.orgId, t.scanId],
      foreignColumns: [scans.orgId, scans.id],
    }).onDelete('cascade'),
  ],
);

/**
 * The characters a finding's search key leaves out: space and ASCII punctuation but the quote
 * and the backslash (they would need escaping in the index's SQL literal) and the semicolon
 * (drizzle-kit's snapshot diff splits index definitions on it).
 */
export const SEARCH_KEY_DROPPED = ' !"#$%&()*+,-./:<=>?@[]^_`{|}~';

/**
 * The search key of a finding: its search text without separators, what the trigram index holds.
 * pg_trgm splits text into words at every non-alphanumeric character and loses their order, so
 * on the search text itself "module42/file" is any row with a word ending in "42" and another
 * starting with "file"; on the key it is "module42file", whose trigrams span the separator. A
 * substring of the search text, its separators left out the same way, is a substring of the key:
 * matching the key is a necessary condition, the search text's LIKE the exact one. Stored, not an
 * index expression: translate() costs some microseconds a row, which every recheck would pay.
 */
export const findingSearchKey = (searchText: SQL) =>
  sql`translate(${searchText}, ${sql.raw(`'${SEARCH_KEY_DROPPED}'`)}, '')`;

/** A finding's search text (a generated column can use no other generated column: spelled once here). */
const FINDING_SEARCH_TEXT = sql`lower(title || ' ' || rule_id || ' ' || coalesce(location->>'path', ''))`;

/**
 * Findings: one row per distinct problem in one application, across its scans. `fingerprint` is
 * the SARIF `partialFingerprints` (else rule + location) that tells a finding seen again from a
 * new one; `occurrences` counts the scans that saw it.
 */
export const findings = pgTable(
  'findings',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    applicationId: uuid('application_id').notNull(),
    fingerprint: text('fingerprint').notNull(),
    ruleId: text('rule_id').notNull(),
    title: text('title').notNull(),
    message: text('message'),
    severity: text('severity').notNull(),
    status: text('status').notNull().default('open'),
    assigneeId: uuid('assignee_id').references(() => users.id, { onDelete: 'set null' }),
    /** `{path, startLine?, endLine?, startColumn?}` of the first location, or null. */
    location: jsonb('location'),
    /** The SARIF tool that reported it. */
    tool: text('tool'),
    firstSeenAt: time('first_seen_at').notNull().defaultNow(),
    lastSeenAt: time('last_seen_at').notNull().defaultNow(),
    occurrences: integer('occurrences').notNull().default(1),
    lastScanId: uuid('last_scan_id'),
    resolvedAt: time('resolved_at'),
    updatedAt: time('updated_at').notNull().defaultNow(),
    /** What `q` searches, lower-cased: title, rule and path (substring match). */
    searchText: text('search_text').generatedAlwaysAs(FINDING_SEARCH_TEXT),
    /** The search text without separators (findingSearchKey), trigram-indexed. */
    searchKey: text('search_key').generatedAlwaysAs(findingSearchKey(FINDING_SEARCH_TEXT)),
  },
  (t) => [
    primaryKey({ name: 'findings_pkey', columns: [t.orgId, t.id] }),
    check('findings_severity_check', sql`${t.severity} IN ('critical', 'high', 'medium', 'low')`),
    check(
      'findings_status_check',
      sql`${t.status} IN ('open', 'triaged', 'false_positive', 'mitigated', 'resolved')`,
    ),
    foreignKey({
      name: 'findings_application_fkey',
      columns: [t.orgId, t.applicationId],
      foreignColumns: [applications.orgId, applications.id],
    }).onDelete('cascade'),
    uniqueIndex('findings_app_fingerprint_key').on(t.orgId, t.applicationId, t.fingerprint),
    // The list, newest first, and its filters (keyset on last_seen_at, id).
    index('findings_org_list_idx').on(t.orgId, t.lastSeenAt, t.id),
    index('findings_org_status_idx').on(t.orgId, t.status, t.lastSeenAt, t.id),
    index('findings_org_severity_idx').on(t.orgId, t.severity, t.lastSeenAt, t.id),
    // Status and severity together (a rare pair would otherwise walk all of the status's rows).
    index('findings_org_status_severity_idx').on(t.orgId, t.status, t.severity, t.lastSeenAt, t.id),
    index('findings_org_assignee_idx').on(t.orgId, t.assigneeId, t.lastSeenAt, t.id),
    index('findings_org_app_list_idx').on(t.orgId, t.applicationId, t.lastSeenAt, t.id),
    // Unlike the users' search indexes, this one keeps GIN's pending list (fastupdate): a SARIF
    // upload writes tens of thousands of rows at once, each some 60 trigrams, and inserting them
    // straight into the tree costs several times the rest of the ingestion.
    index('findings_search_trgm_idx').using('gin', sql`${t.searchKey} gin_trgm_ops`),
  ],
);

/** Which findings each scan saw (a scan's detail, its policy violations, its export). */
export const scanFindings = pgTable(
  'scan_findings',
  {
    orgId: uuid('org_id').notNull(),
    scanId: uuid('scan_id').notNull(),
    findingId: uuid('finding_id').notNull(),
  },
  (t) => [
    primaryKey({ name: 'scan_findings_pkey', columns: [t.orgId, t.scanId, t.findingId] }),
    foreignKey({
      name: 'scan_findings_scan_fkey',
      columns: [t.orgId, t.scanId],
      foreignColumns: [scans.orgId, scans.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'scan_findings_finding_fkey',
      columns: [t.orgId, t.findingId],
      foreignColumns: [findings.orgId, findings.id],
    }).onDelete('cascade'),
    index('scan_findings_finding_idx').on(t.findingId),
  ],
);

export const findingComments = pgTable(
  'finding_comments',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id').notNull(),
    findingId: uuid('finding_id').notNull(),
    authorId: uuid('author_id').references(() => users.id, { onDelete: 'set null' }),
    body: text('body').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: 'finding_comments_pkey', columns: [t.orgId, t.id] }),
    foreignKey({
      name: 'finding_comments_finding_fkey',
      columns: [t.orgId, t.findingId],
      foreignColumns: [findings.orgId, findings.id],
    }).onDelete('cascade'),
    index('finding_comments_finding_idx').on(t.findingId, t.createdAt, t.id),
  ],
);

/** Proposed fixes for a finding; approving one is a separate permission. */
export const remediations = pgTable(
  'remediations',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id').notNull(),
    findingId: uuid('finding_id').notNull(),
    summary: text('summary').notNull(),
    patch: text('patch'),
    status: text('status').notNull().default('proposed'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    approvedBy: uuid('approved_by').references(() => users.id, { onDelete: 'set null' }),
    approvedAt: time('approved_at'),
  },
  (t) => [
    primaryKey({ name: 'remediations_pkey', columns: [t.orgId, t.id] }),
    check('remediations_status_check', sql`${t.status} IN ('proposed', 'approved')`),
    foreignKey({
      name: 'remediations_finding_fkey',
      columns: [t.orgId, t.findingId],
      foreignColumns: [findings.orgId, findings.id],
    }).onDelete('cascade'),
    index('remediations_finding_idx').on(t.orgId, t.findingId, t.createdAt),
  ],
);

/**
 * Security policies: a scan fails one when it saw a finding at `fail_on` or above, for the
 * policy's modules and applications (empty arrays: all of them).
 */
export const policies = pgTable(
  'policies',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description'),
    failOn: text('fail_on').notNull(),
    modules: text('modules').array().notNull().default(sql`'{}'`),
    applicationIds: uuid('application_ids').array().notNull().default(sql`'{}'`),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: time('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'policies_pkey', columns: [t.orgId, t.id] }),
    check('policies_fail_on_check', sql`${t.failOn} IN ('critical', 'high', 'medium', 'low')`),
    uniqueIndex('policies_org_name_key').on(t.orgId, sql`lower(${t.name})`),
    index('policies_org_list_idx').on(t.orgId, t.createdAt, t.id),
  ],
);

/**
 * Departments (teams) of an Enterprise organization. They nest: a child's spending also counts
 * against every ancestor's budget. `monthly_budget` null: no budget of its own.
 */
export const departments = pgTable(
  'departments',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    parentId: uuid('parent_id'),
    name: text('name').notNull(),
    monthlyBudget: integer('monthly_budget'),
    createdAt: createdAt(),
    updatedAt: time('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'departments_pkey', columns: [t.orgId, t.id] }),
    check('departments_budget_check', sql`${t.monthlyBudget} IS NULL OR ${t.monthlyBudget} >= 0`),
    uniqueIndex('departments_org_name_key').on(t.orgId, sql`lower(${t.name})`),
    foreignKey({
      name: 'departments_parent_fkey',
      columns: [t.orgId, t.parentId],
      foreignColumns: [t.orgId, t.id],
    }),
  ],
);

/** A member belongs to at most one department of an org. */
export const departmentMembers = pgTable(
  'department_members',
  {
    orgId: uuid('org_id').notNull(),
    userId: uuid('user_id').notNull(),
    departmentId: uuid('department_id').notNull(),
  },
  (t) => [
    primaryKey({ name: 'department_members_pkey', columns: [t.orgId, t.userId] }),
    foreignKey({
      name: 'department_members_department_fkey',
      columns: [t.orgId, t.departmentId],
      foreignColumns: [departments.orgId, departments.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'department_members_membership_fkey',
      columns: [t.orgId, t.userId],
      foreignColumns: [memberships.orgId, memberships.userId],
    }).onDelete('cascade'),
    index('department_members_department_idx').on(t.orgId, t.departmentId),
  ],
);

/** Per-member monthly budgets (Enterprise); no row: no budget of their own. */
export const memberBudgets = pgTable(
  'member_budgets',
  {
    orgId: uuid('org_id').notNull(),
    userId: uuid('user_id').notNull(),
    monthlyTokens: integer('monthly_tokens').notNull(),
    updatedAt: time('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'member_budgets_pkey', columns: [t.orgId, t.userId] }),
    check('member_budgets_tokens_check', sql`${t.monthlyTokens} >= 0`),
    foreignKey({
      name: 'member_budgets_membership_fkey',
      columns: [t.orgId, t.userId],
      foreignColumns: [memberships.orgId, memberships.userId],
    }).onDelete('cascade'),
  ],
);

/** Extra tokens for 30 days (Enterprise). */
export const quotaBoosts = pgTable(
  'quota_boosts',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    tokens: integer('tokens').notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    expiresAt: time('expires_at').notNull(),
  },
  (t) => [
    primaryKey({ name: 'quota_boosts_pkey', columns: [t.orgId, t.id] }),
    check('quota_boosts_tokens_check', sql`${t.tokens} > 0`),
    index('quota_boosts_org_idx').on(t.orgId, t.expiresAt),
  ],
);

/**
 * What has been spent in one calendar month (UTC, `YYYY-MM`) by a subject: the org's pool, a
 * member (`member:<userId>`) or a department (`department:<id>`). Spending is a guarded
 * `UPDATE … SET used = used + $n WHERE used + $n <= $limit`, so no concurrency overspends.
 *
 * The org's pool is several rows, so that the org's concurrent spenders do not all queue on one:
 * the master row `org` and slots `org:0` … `org:15`. The pool's use is the sum of their `used`.
 * A slot may spend only within its `allotted` tokens; slots are allotted (and their unspent
 * allotments taken back) only under the master row's lock, never beyond the limit the master
 * records in `allot_limit`, nor across a threshold not yet reached (see quota.spend.ts).
 */
export const quotaCounters = pgTable(
  'quota_counters',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    month: text('month').notNull(),
    subject: text('subject').notNull(),
    used: integer('used').notNull().default(0),
    /** A pool slot's allotment: what it may spend in all. */
    allotted: integer('allotted'),
    /** The master row: the pool limit the slots' allotments were made under. */
    allotLimit: integer('allot_limit'),
  },
  (t) => [
    primaryKey({ name: 'quota_counters_pkey', columns: [t.orgId, t.month, t.subject] }),
    check('quota_counters_used_check', sql`${t.used} >= 0`),
    check('quota_counters_allotted_check', sql`${t.allotted} IS NULL OR ${t.used} <= ${t.allotted}`),
  ],
);

/**
 * Every spend, for usage by module and member and the trend. Kept when the scan is deleted
 * (the tokens stay spent).
 */
export const quotaLedger = pgTable(
  'quota_ledger',
  {
    id: bigserial('id', { mode: 'number' }).notNull(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    month: text('month').notNull(),
    scanId: uuid('scan_id'),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
    departmentId: uuid('department_id'),
    module: text('module').notNull(),
    tokens: integer('tokens').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: 'quota_ledger_pkey', columns: [t.orgId, t.id] }),
    index('quota_ledger_org_month_idx').on(t.orgId, t.month),
  ],
);

/** Thresholds of the month's pool already crossed (50, 75, 90, 100): each recorded once. */
export const quotaThresholds = pgTable(
  'quota_thresholds',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    month: text('month').notNull(),
    percent: integer('percent').notNull(),
    reachedAt: time('reached_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'quota_thresholds_pkey', columns: [t.orgId, t.month, t.percent] })],
);

/**
 * The transactional outbox: work that must survive a crash (email, webhook deliveries,
 * notifications, exports), written in the same transaction as the change that causes it and
 * carried out by the outbox worker of any instance. A job is claimed with `FOR UPDATE SKIP
 * LOCKED` and leased until `locked_until`; a lease that runs out (the instance died) makes the
 * job claimable again, so delivery is at least once.
 */
export const outboxJobs = pgTable(
  'outbox_jobs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** The handler that carries it out (`email.send`, `event.dispatch`, `webhook.deliver`, ...). */
    kind: text('kind').notNull(),
    /** The org the job belongs to, when it belongs to one (jobs of a deleted org go with it). */
    orgId: uuid('org_id').references(() => organizations.id, { onDelete: 'cascade' }),
    payload: jsonb('payload').notNull(),
    /**
     * What the handler needs that must not be at rest in clear (an email's message, with its
     * links), sealed with platform/secrets under `outbox_jobs.secret:<id>`; re-sealed by
     * `gatehouse secrets rotate`, and emptied with the payload once done when its handler asks.
     */
    secret: text('secret'),
    /** pending → done, or → dead once its attempts are spent (or its handler gave up). */
    state: text('state').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    /** Not before this time (backoff, quiet hours, digests). */
    runAt: time('run_at').notNull().defaultNow(),
    lockedUntil: time('locked_until'),
    lockedBy: text('locked_by'),
    lastError: text('last_error'),
    /** Makes enqueueing idempotent: a second job with the same key is not written. */
    dedupeKey: text('dedupe_key'),
    createdAt: createdAt(),
    finishedAt: time('finished_at'),
  },
  (t) => [
    check('outbox_jobs_state', sql`${t.state} IN ('pending', 'done', 'dead')`),
    // Partial, like the org's: most jobs have neither, and an index a job does not enter costs its
    // write nothing.
    uniqueIndex('outbox_jobs_dedupe_key_idx').on(t.dedupeKey).where(sql`${t.dedupeKey} IS NOT NULL`),
    index('outbox_jobs_due_idx').on(t.runAt).where(sql`${t.state} = 'pending'`),
    // Retention's purge and the operators' list of dead jobs.
    index('outbox_jobs_finished_idx').on(t.state, t.finishedAt).where(sql`${t.state} <> 'pending'`),
    index('outbox_jobs_org_idx').on(t.orgId).where(sql`${t.orgId} IS NOT NULL`),
  ],
);

/** Each attempt at an outbox job: when, how long, and how it ended. */
export const outboxAttempts = pgTable(
  'outbox_attempts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    jobId: uuid('job_id')
      .notNull()
      .references(() => outboxJobs.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    instance: text('instance').notNull(),
    startedAt: time('started_at').notNull(),
    finishedAt: time('finished_at').notNull().defaultNow(),
    ok: boolean('ok').notNull(),
    error: text('error'),
  },
  (t) => [index('outbox_attempts_job_idx').on(t.jobId, t.attempt)],
);

/**
 * Exports of an organization's data (a zip), built in the background by an outbox job and kept
 * in the database (`org_export_chunks`) until `expires_at`, so any instance serves the download.
 * Each attempt at building one takes a fresh `build_id`: the chunks of an attempt that died (or
 * that outlived its lease) carry another id, are never served and are deleted by the next.
 */
export const orgExports = pgTable(
  'org_exports',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    requestedBy: uuid('requested_by').references(() => users.id, { onDelete: 'set null' }),
    /** pending → running → ready, or failed once the job gave up. */
    status: text('status').notNull().default('pending'),
    /** Percent of the archive's parts written by the attempt under way (100 once ready). */
    progress: integer('progress').notNull().default(0),
    buildId: uuid('build_id'),
    sizeBytes: bigint('size_bytes', { mode: 'number' }),
    sha256: text('sha256'),
    /** Why it failed, in words (never a stack or a query). */
    error: text('error'),
    createdAt: createdAt(),
    startedAt: time('started_at'),
    finishedAt: time('finished_at'),
    /** When the archive is deleted (a week after it was finished). */
    expiresAt: time('expires_at'),
  },
  (t) => [
    primaryKey({ name: 'org_exports_pkey', columns: [t.orgId, t.id] }),
    check('org_exports_status_check', sql`${t.status} IN ('pending', 'running', 'ready', 'failed')`),
    check('org_exports_progress_check', sql`${t.progress} BETWEEN 0 AND 100`),
    index('org_exports_org_list_idx').on(t.orgId, t.createdAt, t.id),
    index('org_exports_expires_idx').on(t.expiresAt).where(sql`${t.expiresAt} IS NOT NULL`),
  ],
);

/** An export's bytes, in order, a chunk (up to 1 MiB) a row. */
export const orgExportChunks = pgTable(
  'org_export_chunks',
  {
    orgId: uuid('org_id').notNull(),
    exportId: uuid('export_id').notNull(),
    buildId: uuid('build_id').notNull(),
    seq: integer('seq').notNull(),
    bytes: bytea('bytes').notNull(),
  },
  (t) => [
    primaryKey({ name: 'org_export_chunks_pkey', columns: [t.orgId, t.exportId, t.buildId, t.seq] }),
    foreignKey({
      name: 'org_export_chunks_export_fkey',
      columns: [t.orgId, t.exportId],
      foreignColumns: [orgExports.orgId, orgExports.id],
    }).onDelete('cascade'),
  ],
);

/**
 * Outgoing webhooks: an organization's endpoints and the events each receives. The signing
 * secret is sealed (`webhooks.secret:<id>`); after a rotation the previous one is kept, sealed
 * too, until `previous_secret_expires_at`, and signs alongside. `failing_since` is when the
 * endpoint's current run of failures began (null while it answers); `disabled_reason` says why
 * Gatehouse turned it off (`gone`: it answered 410; `failing`: it failed for days). `audit_cursor`
 * is the last audit entry (`seq` of the org's chain) handed over for `audit.entry` delivery.
 */
export const webhooks = pgTable(
  'webhooks',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    description: text('description'),
    events: text('events').array().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    secret: text('secret').notNull(),
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: time('previous_secret_expires_at'),
    failingSince: time('failing_since'),
    disabledReason: text('disabled_reason'),
    disabledAt: time('disabled_at'),
    auditCursor: bigint('audit_cursor', { mode: 'number' }),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: time('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'webhooks_pkey', columns: [t.orgId, t.id] }),
    check('webhooks_disabled_reason_check', sql`${t.disabledReason} IN ('gone', 'failing')`),
    index('webhooks_org_list_idx').on(t.orgId, t.createdAt, t.id),
    // The audit stream's sweep reads only the endpoints that take audit entries.
    index('webhooks_audit_stream_idx').on(t.orgId).where(sql`${t.enabled} AND ${t.auditCursor} IS NOT NULL`),
  ],
);

/**
 * One event for one webhook: the exact body sent (the same bytes on every attempt, so one
 * signature scheme over them holds), under the event's id (`webhook-id`). Written once per
 * webhook and event, however often the event's dispatch runs.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id').notNull(),
    webhookId: uuid('webhook_id').notNull(),
    eventId: text('event_id').notNull(),
    type: text('type').notNull(),
    body: text('body').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: 'webhook_deliveries_pkey', columns: [t.orgId, t.id] }),
    foreignKey({
      name: 'webhook_deliveries_webhook_fkey',
      columns: [t.orgId, t.webhookId],
      foreignColumns: [webhooks.orgId, webhooks.id],
    }).onDelete('cascade'),
    uniqueIndex('webhook_deliveries_event_key').on(t.orgId, t.webhookId, t.eventId),
    index('webhook_deliveries_age_idx').on(t.createdAt),
  ],
);

/**
 * The delivery log: one row per attempt at a delivery. A row is `pending` from when the attempt
 * is queued until it is made; then `delivered` (a 2xx) or `failed`, with the answer (status, the
 * first KiB of the body), the time it took and, when another attempt follows, `next_attempt_at`.
 */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id').notNull(),
    webhookId: uuid('webhook_id').notNull(),
    deliveryId: uuid('delivery_id').notNull(),
    attempt: integer('attempt').notNull(),
    state: text('state').notNull().default('pending'),
    responseStatus: integer('response_status'),
    responseBody: text('response_body'),
    durationMs: integer('duration_ms'),
    error: text('error'),
    /** When the row was queued, then when the attempt was made. */
    at: time('at').notNull().defaultNow(),
    nextAttemptAt: time('next_attempt_at'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: 'webhook_attempts_pkey', columns: [t.orgId, t.id] }),
    check('webhook_attempts_state_check', sql`${t.state} IN ('pending', 'delivered', 'failed')`),
    foreignKey({
      name: 'webhook_attempts_delivery_fkey',
      columns: [t.orgId, t.deliveryId],
      foreignColumns: [webhookDeliveries.orgId, webhookDeliveries.id],
    }).onDelete('cascade'),
    uniqueIndex('webhook_attempts_attempt_key').on(t.orgId, t.deliveryId, t.attempt),
    index('webhook_attempts_list_idx').on(t.orgId, t.webhookId, t.createdAt, t.id),
  ],
);

/**
 * A person's notification preferences (no row: the defaults). Quiet hours are wall-clock `HH:MM`
 * in the user's own time zone (`users.timezone`); `types` holds only the switches set away from
 * their defaults, so a type added later starts at its default for everyone.
 */
export const notificationPreferences = pgTable(
  'notification_preferences',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    emailDigest: text('email_digest').notNull().default('immediate'),
    quietStart: text('quiet_start'),
    quietEnd: text('quiet_end'),
    types: jsonb('types').notNull().default(sql`'{}'::jsonb`),
    /** E.164, for critical alerts by SMS (organizations whose plan has SMS). */
    phone: text('phone'),
    updatedAt: time('updated_at').notNull().defaultNow(),
  },
  (t) => [
    check(
      'notification_preferences_digest_check',
      sql`${t.emailDigest} IN ('immediate', 'daily', 'weekly', 'off')`,
    ),
    check('notification_preferences_quiet_check', sql`(${t.quietStart} IS NULL) = (${t.quietEnd} IS NULL)`),
  ],
);

/**
 * Notifications, one row per person told: the inbox shows those with `in_app`, and the daily or
 * weekly digest gathers those with `digest_pending`. Title and body are rendered when read, in the
 * reader's language, from `params`. `dedupe_key` makes creating one idempotent (an event handed
 * to the subscriber twice tells each person once).
 */
export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').notNull().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    params: jsonb('params').notNull(),
    link: text('link'),
    inApp: boolean('in_app').notNull(),
    digestPending: boolean('digest_pending').notNull().default(false),
    dedupeKey: text('dedupe_key').notNull(),
    createdAt: createdAt(),
    readAt: time('read_at'),
  },
  (t) => [
    primaryKey({ name: 'notifications_pkey', columns: [t.userId, t.id] }),
    unique('notifications_user_dedupe_key').on(t.userId, t.dedupeKey),
    // The inbox, newest first (keyset on created_at, id), and its unread filter and count.
    index('notifications_inbox_idx').on(t.userId, t.createdAt, t.id).where(sql`${t.inApp}`),
    index('notifications_unread_idx')
      .on(t.userId, t.createdAt, t.id)
      .where(sql`${t.inApp} AND ${t.readAt} IS NULL`),
    index('notifications_digest_idx').on(t.userId, t.createdAt).where(sql`${t.digestPending}`),
    index('notifications_org_idx').on(t.orgId),
  ],
);

/**
 * An organization's Slack incoming webhook: the URL sealed with platform/secrets (context
 * `slack:<orgId>`), never returned; the events posted and the least severity of finding posted.
 */
export const slackConfigs = pgTable(
  'slack_configs',
  {
    orgId: uuid('org_id')
      .primaryKey()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    webhookUrl: text('webhook_url').notNull(),
    /** The URL's host, shown so people can tell where it posts (the URL's secret part is its path). */
    webhookHost: text('webhook_host').notNull(),
    events: text('events').array().notNull(),
    minSeverity: text('min_severity').notNull(),
    updatedAt: time('updated_at').notNull().defaultNow(),
  },
  (t) => [
    check('slack_configs_min_severity_check', sql`${t.minSeverity} IN ('critical', 'high', 'medium', 'low')`),
  ],
);

/** Which quota thresholds an organization is alerted at, and through which channels (no row: defaults). */
export const quotaAlertSettings = pgTable('quota_alert_settings', {
  orgId: uuid('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  thresholds: integer('thresholds').array().notNull(),
  channels: text('channels').array().notNull(),
  updatedAt: time('updated_at').notNull().defaultNow(),
});

/**
 * Each quota alert sent: one row per organization, month, threshold and channel. The record that
 * makes "once per channel per threshold per month" hold for the whole month, however long the
 * outbox keeps its finished jobs (whose dedupe keys say the same only while they are kept).
 */
export const quotaAlertsSent = pgTable(
  'quota_alerts_sent',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    month: text('month').notNull(),
    percent: integer('percent').notNull(),
    channel: text('channel').notNull(),
    sentAt: time('sent_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'quota_alerts_sent_pkey', columns: [t.orgId, t.month, t.percent, t.channel] })],
);

/**
 * An organization's single sign-on policy (no row: SSO off, coexist). `enforcement`: `coexist`
 * (password and SSO alike), `preferred` (the sign-in page leads with SSO), `enforced` (a member's
 * session not established through this org's IdP gets 403 `sso_required` on its routes).
 * `default_role_id` is the role a just-in-time provisioned member gets when no group mapping
 * matches. The email domains "Sign in with SSO" finds the org by are `sso_domains`.
 */
export const ssoSettings = pgTable(
  'sso_settings',
  {
    orgId: uuid('org_id')
      .primaryKey()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    enforcement: text('enforcement').notNull().default('coexist'),
    jitProvisioning: boolean('jit_provisioning').notNull().default(false),
    defaultRoleId: uuid('default_role_id'),
    groupsAttribute: text('groups_attribute'),
    /** SAML responses not answering a request of ours are refused unless this is on. */
    allowIdpInitiated: boolean('allow_idp_initiated').notNull().default(false),
    updatedAt: time('updated_at').notNull().defaultNow(),
  },
  (t) => [
    check('sso_settings_enforcement_check', sql`${t.enforcement} IN ('coexist', 'preferred', 'enforced')`),
    foreignKey({
      name: 'sso_settings_default_role_fkey',
      columns: [t.orgId, t.defaultRoleId],
      foreignColumns: [roles.orgId, roles.id],
    }),
  ],
);

/**
 * An email domain "Sign in with SSO" finds an org by: one org per domain across the installation
 * (like a slug, a name looked up before any org is known). It only points the sign-in page at an
 * IdP; it links and admits no one (see modules/sso).
 */
export const ssoDomains = pgTable(
  'sso_domains',
  {
    domain: text('domain').primaryKey(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
  },
  (t) => [index('sso_domains_org_idx').on(t.orgId)],
);

/**
 * The org's OIDC identity provider. `client_secret` is sealed with platform/secrets (context
 * `sso_oidc.client_secret:<org>`), never returned. `metadata` is the issuer's discovery document
 * as fetched (through the outbound guard) when the connection was saved.
 */
export const ssoOidc = pgTable('sso_oidc', {
  orgId: uuid('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  issuer: text('issuer').notNull(),
  clientId: text('client_id').notNull(),
  clientSecret: text('client_secret').notNull(),
  scopes: text('scopes').array().notNull(),
  metadata: jsonb('metadata').notNull(),
  updatedAt: time('updated_at').notNull().defaultNow(),
});

/** The org's SAML identity provider: its entity id, SSO URL and signing certificates (PEM, several during a rotation). */
export const ssoSaml = pgTable('sso_saml', {
  orgId: uuid('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  idpEntityId: text('idp_entity_id').notNull(),
  idpSsoUrl: text('idp_sso_url').notNull(),
  idpCertificates: text('idp_certificates').array().notNull(),
  idpMetadataUrl: text('idp_metadata_url'),
  updatedAt: time('updated_at').notNull().defaultNow(),
});

/** IdP group → role, applied when a member first signs in through SSO. */
export const ssoGroupMappings = pgTable(
  'sso_group_mappings',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    idpGroup: text('idp_group').notNull(),
    roleId: uuid('role_id').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: 'sso_group_mappings_pkey', columns: [t.orgId, t.id] }),
    unique('sso_group_mappings_org_group_key').on(t.orgId, t.idpGroup),
    foreignKey({
      name: 'sso_group_mappings_role_fkey',
      columns: [t.orgId, t.roleId],
      foreignColumns: [roles.orgId, roles.id],
    }),
  ],
);

/**
 * Who an IdP says someone is, linked to an account: (org, protocol, subject) — the OIDC `sub` or
 * the SAML NameID, taken whole — is one account. The link, not the email, signs them in later.
 */
export const ssoIdentities = pgTable(
  'sso_identities',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    protocol: text('protocol').notNull(),
    subject: text('subject').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    email: text('email'),
    createdAt: createdAt(),
    lastLoginAt: time('last_login_at'),
  },
  (t) => [
    primaryKey({ name: 'sso_identities_pkey', columns: [t.orgId, t.protocol, t.subject] }),
    check('sso_identities_protocol_check', sql`${t.protocol} IN ('oidc', 'saml')`),
    index('sso_identities_user_idx').on(t.userId),
  ],
);

/**
 * A sign-in we sent to an IdP and have not had back: the OIDC `state` (by its SHA-256, hex) with
 * its nonce and PKCE verifier, or the SAML AuthnRequest's ID (node-saml's InResponseTo cache).
 * Taken once (deleted as it is read), good for ten minutes, in the browser that started it. `purpose` `test` is an admin's test
 * sign-in, which shows what the IdP said and signs no one in.
 */
export const ssoRequests = pgTable(
  'sso_requests',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    protocol: text('protocol').notNull(),
    purpose: text('purpose').notNull().default('login'),
    nonce: text('nonce'),
    codeVerifier: text('code_verifier'),
    next: text('next'),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    /**
     * SHA-256 (hex) of the cookie given to the browser that started the sign-in: the answer is
     * taken only in that browser (no one else's IdP answer can sign this browser in: login CSRF).
     */
    browserBinding: text('browser_binding'),
    createdAt: createdAt(),
    expiresAt: time('expires_at').notNull(),
  },
  (t) => [
    primaryKey({ name: 'sso_requests_pkey', columns: [t.orgId, t.key] }),
    check('sso_requests_purpose_check', sql`${t.purpose} IN ('login', 'test')`),
    index('sso_requests_expires_idx').on(t.expiresAt),
  ],
);

/** SAML assertions already taken, kept until they expire: one replayed inside its window is refused. */
export const ssoAssertionsSeen = pgTable(
  'sso_assertions_seen',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    assertionId: text('assertion_id').notNull(),
    expiresAt: time('expires_at').notNull(),
  },
  (t) => [
    primaryKey({ name: 'sso_assertions_seen_pkey', columns: [t.orgId, t.assertionId] }),
    index('sso_assertions_seen_expires_idx').on(t.expiresAt),
  ],
);

/**
 * An org's SCIM bearer tokens (`scim_…`): shown once, only the SHA-256 kept. A token reaches its
 * own org's `/scim/v2` and nothing else; revoked ones stay for the record.
 */
export const scimTokens = pgTable(
  'scim_tokens',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    tokenHash: bytea('token_hash').notNull(),
    lastFour: text('last_four').notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    lastUsedAt: time('last_used_at'),
    revokedAt: time('revoked_at'),
  },
  (t) => [
    primaryKey({ name: 'scim_tokens_pkey', columns: [t.orgId, t.id] }),
    uniqueIndex('scim_tokens_hash_key').on(t.tokenHash),
    index('scim_tokens_org_idx').on(t.orgId, t.createdAt, t.id),
  ],
);

/**
 * A SCIM User: the IdP's view of one member (its `id` is the resource id the IdP addresses).
 * `scim_role_id` is the role SCIM last gave the membership: a membership whose role differs was
 * changed by hand since, and group mappings leave it alone.
 */
export const scimUsers = pgTable(
  'scim_users',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    userName: text('user_name').notNull(),
    externalId: text('external_id'),
    active: boolean('active').notNull().default(true),
    /** The core schema's `name` (givenName, familyName, formatted…), as sent. */
    name: jsonb('name'),
    displayName: text('display_name'),
    emails: jsonb('emails').notNull().default(sql`'[]'::jsonb`),
    /** The enterprise extension (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`), as sent. */
    enterprise: jsonb('enterprise'),
    /** The other core attributes kept as sent (title, phoneNumbers, addresses, locale…); never the password. */
    attributes: jsonb('attributes'),
    scimRoleId: uuid('scim_role_id'),
    createdAt: createdAt(),
    updatedAt: time('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'scim_users_pkey', columns: [t.orgId, t.id] }),
    uniqueIndex('scim_users_org_user_name_key').on(t.orgId, sql`lower(${t.userName})`),
    unique('scim_users_org_user_key').on(t.orgId, t.userId),
    index('scim_users_org_created_idx').on(t.orgId, t.createdAt, t.id),
  ],
);

/** A SCIM Group: its displayName is what SSO group mappings (`idp_group`) match. */
export const scimGroups = pgTable(
  'scim_groups',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    displayName: text('display_name').notNull(),
    externalId: text('external_id'),
    createdAt: createdAt(),
    updatedAt: time('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'scim_groups_pkey', columns: [t.orgId, t.id] }),
    uniqueIndex('scim_groups_org_display_name_key').on(t.orgId, sql`lower(${t.displayName})`),
    index('scim_groups_org_created_idx').on(t.orgId, t.createdAt, t.id),
  ],
);

/** Who is in a SCIM Group; both ends in the same org (composite foreign keys). */
export const scimGroupMembers = pgTable(
  'scim_group_members',
  {
    orgId: uuid('org_id').notNull(),
    groupId: uuid('group_id').notNull(),
    scimUserId: uuid('scim_user_id').notNull(),
  },
  (t) => [
    primaryKey({ name: 'scim_group_members_pkey', columns: [t.orgId, t.groupId, t.scimUserId] }),
    foreignKey({
      name: 'scim_group_members_group_fkey',
      columns: [t.orgId, t.groupId],
      foreignColumns: [scimGroups.orgId, scimGroups.id],
    }).onDelete('cascade'),
    foreignKey({
      name: 'scim_group_members_user_fkey',
      columns: [t.orgId, t.scimUserId],
      foreignColumns: [scimUsers.orgId, scimUsers.id],
    }).onDelete('cascade'),
    index('scim_group_members_user_idx').on(t.orgId, t.scimUserId),
  ],
);

/** Every `/scim/v2` request an org's token made (never the token): the request log, bounded per org. */
export const scimRequests = pgTable(
  'scim_requests',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    at: createdAt(),
    method: text('method').notNull(),
    path: text('path').notNull(),
    status: integer('status').notNull(),
    error: text('error'),
  },
  (t) => [
    primaryKey({ name: 'scim_requests_pkey', columns: [t.orgId, t.id] }),
    index('scim_requests_org_at_idx').on(t.orgId, t.at, t.id),
    index('scim_requests_at_idx').on(t.at),
  ],
);

/**
 * An organization's own AI provider for one purpose (`remediator`, `validator`): at most one per
 * org and purpose. `api_key` is sealed with platform/secrets (context
 * `ai_connections.api_key:<org>:<id>`), never returned; `api_key_hint` is its last four
 * characters (null for short keys). `last_test` is the last connection test of these settings
 * (cleared when they change).
 */
export const aiConnections = pgTable(
  'ai_connections',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    purpose: text('purpose').notNull(),
    provider: text('provider').notNull(),
    baseUrl: text('base_url').notNull(),
    model: text('model').notNull(),
    deployment: text('deployment'),
    apiVersion: text('api_version'),
    apiKey: text('api_key').notNull(),
    apiKeyHint: text('api_key_hint'),
    lastTest: jsonb('last_test'),
    updatedBy: uuid('updated_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: time('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'ai_connections_pkey', columns: [t.orgId, t.id] }),
    uniqueIndex('ai_connections_org_purpose_key').on(t.orgId, t.purpose),
    check('ai_connections_purpose_check', sql`${t.purpose} IN ('remediator', 'validator')`),
    check(
      'ai_connections_provider_check',
      sql`${t.provider} IN ('openai', 'azure_openai', 'openai_compatible')`,
    ),
  ],
);

/**
 * The integrations registry: an organization's connections to SCM, ticketing, registries, clouds
 * and chat. `config` holds only settings that are not secret (its `baseUrl` is where the service's
 * API is); `secret` is sealed (context `integrations.secret:<org>:<id>`), never returned. `status`
 * is how the last test went (`untested` until one ran, and again after a change), `last_test` that
 * test's outcome.
 */
export const integrations = pgTable(
  'integrations',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    provider: text('provider').notNull(),
    name: text('name').notNull(),
    config: jsonb('config').notNull(),
    secret: text('secret'),
    status: text('status').notNull().default('untested'),
    lastTest: jsonb('last_test'),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
    updatedAt: time('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: 'integrations_pkey', columns: [t.orgId, t.id] }),
    uniqueIndex('integrations_org_name_key').on(t.orgId, sql`lower(${t.name})`),
    index('integrations_org_list_idx').on(t.orgId, t.createdAt, t.id),
    check('integrations_kind_check', sql`${t.kind} IN ('scm', 'ticketing', 'registry', 'cloud', 'chat')`),
    check('integrations_status_check', sql`${t.status} IN ('untested', 'connected', 'failing')`),
  ],
);

// ---- Billing ----

/**
 * An organization's subscription terms beside its plan (`organizations.plan` stays the one source
 * of entitlements): the billing cycle, the current period (set when a paid plan starts and moved
 * by the invoicing job at each renewal), the seats billed, whether the last payment failed, and
 * the payment method — a provider's reference and what a person recognizes it by (brand, last
 * four, expiry), never card data. A row exists once the org has been on a paid plan.
 */
export const subscriptions = pgTable(
  'subscriptions',
  {
    orgId: uuid('org_id')
      .primaryKey()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    cycle: text('cycle').notNull().default('monthly'),
    /** The paid period under way; NULL while the org is on a free plan. */
    periodStart: time('period_start'),
    periodEnd: time('period_end'),
    /** Seats billed for the period under way (active members at its start or at the last change). */
    seats: integer('seats').notNull().default(1),
    /** `active`, or `past_due` after a failed payment until one succeeds. */
    status: text('status').notNull().default('active'),
    /**
     * What the org is owed (minor units), from a downgrade's unused days: taken off the next
     * invoices before anything is charged.
     */
    creditBalance: bigint('credit_balance', { mode: 'number' }).notNull().default(0),
    paymentProvider: text('payment_provider'),
    /** The provider's reference for the method (a bank mandate, a customer id): never card data. */
    paymentReference: text('payment_reference'),
    paymentBrand: text('payment_brand'),
    paymentLast4: text('payment_last4'),
    paymentExpMonth: smallint('payment_exp_month'),
    paymentExpYear: smallint('payment_exp_year'),
    createdAt: createdAt(),
    updatedAt: time('updated_at').notNull().defaultNow(),
  },
  (t) => [
    check('subscriptions_cycle_check', sql`${t.cycle} IN ('monthly', 'annual')`),
    check('subscriptions_status_check', sql`${t.status} IN ('active', 'past_due')`),
    check('subscriptions_seats_check', sql`${t.seats} >= 1`),
    check('subscriptions_credit_check', sql`${t.creditBalance} >= 0`),
    check('subscriptions_last4_check', sql`${t.paymentLast4} IS NULL OR ${t.paymentLast4} ~ '^[0-9]{4}$'`),
    check(
      'subscriptions_exp_check',
      sql`(${t.paymentExpMonth} IS NULL OR ${t.paymentExpMonth} BETWEEN 1 AND 12) AND (${t.paymentExpYear} IS NULL OR ${t.paymentExpYear} BETWEEN 2000 AND 2200)`,
    ),
    index('subscriptions_period_end_idx').on(t.periodEnd).where(sql`${t.periodEnd} IS NOT NULL`),
  ],
);

/**
 * The installation's invoice counter: one row. An invoice takes its number by
 * `UPDATE invoice_sequence SET last_number = last_number + 1 RETURNING last_number` in the
 * transaction that inserts it, so numbers are gapless (a rolled-back issue gives its number back)
 * and unique (the row lock serializes issuers on every instance).
 */
export const invoiceSequence = pgTable(
  'invoice_sequence',
  {
    id: smallint('id').primaryKey().default(1),
    lastNumber: bigint('last_number', { mode: 'number' }).notNull().default(0),
  },
  (t) => [check('invoice_sequence_single_row', sql`${t.id} = 1`)],
);

/**
 * Invoices, issued by the invoicing job at each renewal (`reason = 'cycle'`, one per org and
 * period start) and on plan changes (`plan_change`). Amounts are integers in the currency's minor
 * unit; `lines` holds `{description, quantity, unitAmount, amount}`; `bill_to` is the org's name
 * and invoice recipients as they were when issued. The number is unique per installation by the
 * sequence; the index carries `org_id` so the table can be distributed by organization.
 */
export const invoices = pgTable(
  'invoices',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    number: bigint('number', { mode: 'number' }).notNull(),
    reason: text('reason').notNull(),
    plan: text('plan').notNull(),
    cycle: text('cycle').notNull(),
    periodStart: time('period_start').notNull(),
    periodEnd: time('period_end').notNull(),
    currency: text('currency').notNull(),
    subtotal: bigint('subtotal', { mode: 'number' }).notNull(),
    total: bigint('total', { mode: 'number' }).notNull(),
    lines: jsonb('lines').notNull(),
    billTo: jsonb('bill_to').notNull(),
    /** `open` until paid (`paid`), `failed` after a failed payment, `void` when cancelled. */
    status: text('status').notNull().default('open'),
    issuedAt: time('issued_at').notNull().defaultNow(),
    dueAt: time('due_at').notNull(),
    paidAt: time('paid_at'),
    /** The provider's id for the payment or charge that settled (or failed) it. */
    providerReference: text('provider_reference'),
  },
  (t) => [
    primaryKey({ name: 'invoices_pkey', columns: [t.orgId, t.id] }),
    check('invoices_reason_check', sql`${t.reason} IN ('cycle', 'plan_change')`),
    check('invoices_status_check', sql`${t.status} IN ('open', 'paid', 'failed', 'void')`),
    check('invoices_cycle_check', sql`${t.cycle} IN ('monthly', 'annual')`),
    uniqueIndex('invoices_org_number_key').on(t.orgId, t.number),
    uniqueIndex('invoices_org_cycle_period_key').on(t.orgId, t.periodStart).where(sql`${t.reason} = 'cycle'`),
    index('invoices_org_list_idx').on(t.orgId, t.issuedAt, t.id),
  ],
);

/**
 * Events received from the payment provider (`POST /api/v1/billing/provider-events`), kept so a
 * replayed event id is applied once: the insert of its id is the claim. Installation-wide (the
 * event names its org inside).
 */
export const billingProviderEvents = pgTable(
  'billing_provider_events',
  {
    eventId: text('event_id').primaryKey(),
    type: text('type').notNull(),
    orgId: uuid('org_id').references(() => organizations.id, { onDelete: 'set null' }),
    receivedAt: time('received_at').notNull().defaultNow(),
    payload: jsonb('payload').notNull(),
  },
  (t) => [index('billing_provider_events_received_idx').on(t.receivedAt)],
);

// ---- Reports ----

/**
 * Compliance reports (`kind = 'compliance'`, a framework) and executive summaries (`executive`)
 * for a period, built in the background by an outbox job into `pdf`; `summary` holds the figures
 * the document states (for the console and for tests to compare with the PDF's text).
 */
export const reports = pgTable(
  'reports',
  {
    id: uuid('id').notNull().defaultRandom(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    framework: text('framework'),
    periodFrom: time('period_from').notNull(),
    periodTo: time('period_to').notNull(),
    requestedBy: uuid('requested_by').references(() => users.id, { onDelete: 'set null' }),
    /** pending → running → ready, or failed once the job gave up. */
    status: text('status').notNull().default('pending'),
    error: text('error'),
    summary: jsonb('summary'),
    pdf: bytea('pdf'),
    sizeBytes: integer('size_bytes'),
    sha256: text('sha256'),
    createdAt: createdAt(),
    finishedAt: time('finished_at'),
  },
  (t) => [
    primaryKey({ name: 'reports_pkey', columns: [t.orgId, t.id] }),
    check('reports_kind_check', sql`${t.kind} IN ('compliance', 'executive')`),
    check(
      'reports_framework_check',
      sql`(${t.kind} = 'compliance' AND ${t.framework} IN ('soc2', 'iso27001', 'gdpr', 'hipaa', 'pci_dss')) OR (${t.kind} = 'executive' AND ${t.framework} IS NULL)`,
    ),
    check('reports_status_check', sql`${t.status} IN ('pending', 'running', 'ready', 'failed')`),
    check('reports_period_check', sql`${t.periodFrom} < ${t.periodTo}`),
    index('reports_org_list_idx').on(t.orgId, t.kind, t.createdAt, t.id),
  ],
);
