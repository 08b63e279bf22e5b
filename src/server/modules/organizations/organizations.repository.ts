import { and, asc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import { type LockedOrg, lockLiveOrgWhere } from '../../platform/access/guard.ts';
import type { Executor } from '../../platform/db/client.ts';
import { membershipRole } from '../../platform/db/joins.ts';
import { liveOrganization } from '../../platform/db/live.ts';
import { preparedPerExecutor } from '../../platform/db/prepared.ts';
import { memberships, organizations, orgLogos, roles } from '../../platform/db/schema.ts';

export interface OrgProfileChanges {
  name?: string;
  slug?: string;
  description?: string | null;
  contactEmail?: string | null;
  website?: string | null;
  industry?: string | null;
  teamEmails?: string[];
  invoiceRecipients?: string[];
}

export const orgColumns = {
  id: organizations.id,
  slug: organizations.slug,
  name: organizations.name,
  description: organizations.description,
  contactEmail: organizations.contactEmail,
  website: organizations.website,
  industry: organizations.industry,
  teamEmails: organizations.teamEmails,
  invoiceRecipients: organizations.invoiceRecipients,
  plan: organizations.plan,
  createdAt: organizations.createdAt,
  updatedAt: organizations.updatedAt,
  logoUpdatedAt: orgLogos.updatedAt,
};

export type OrgRow = {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  contactEmail: string | null;
  website: string | null;
  industry: string | null;
  teamEmails: string[];
  invoiceRecipients: string[];
  plan: string;
  createdAt: Date;
  updatedAt: Date;
  logoUpdatedAt: Date | null;
};

const live = (orgId: string) => and(eq(organizations.id, orgId), liveOrganization());

const findOrgQuery = preparedPerExecutor((db) =>
  db
    .select(orgColumns)
    .from(organizations)
    .leftJoin(orgLogos, eq(orgLogos.orgId, organizations.id))
    .where(and(eq(organizations.id, sql.placeholder('orgId')), isNull(organizations.deletedAt)))
    .prepare('find_org'),
);

/** The live organization's profile (every org-scoped read of it: prepared once, see preparedPerExecutor). */
export async function findOrg(db: Executor, orgId: string): Promise<OrgRow | undefined> {
  const [row] = await findOrgQuery(db).execute({ orgId });
  return row;
}

/** Inserts the organization; undefined when its slug is taken by a live organization. */
export async function insertOrg(
  tx: Executor,
  values: OrgProfileChanges & { name: string; slug: string; plan: string; createdBy: string },
): Promise<{ id: string } | undefined> {
  const [row] = await tx
    .insert(organizations)
    .values(values)
    .onConflictDoNothing()
    .returning({ id: organizations.id });
  return row;
}

export async function updateOrg(tx: Executor, orgId: string, changes: OrgProfileChanges): Promise<void> {
  await tx
    .update(organizations)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(live(orgId));
}

export async function markOrgDeleted(tx: Executor, orgId: string): Promise<void> {
  await tx.update(organizations).set({ deletedAt: sql`now()` }).where(live(orgId));
}

export async function isSlugTaken(db: Executor, slug: string, exceptOrgId?: string): Promise<boolean> {
  const conditions = [sql`lower(${organizations.slug}) = lower(${slug})`, liveOrganization()];
  if (exceptOrgId) conditions.push(sql`${organizations.id} <> ${exceptOrgId}`);
  const [row] = await db
    .select({ id: organizations.id })
    .from(organizations)
    .where(and(...conditions))
    .limit(1);
  return row !== undefined;
}

export interface UserOrgRow {
  id: string;
  slug: string;
  name: string;
  plan: string;
  role: string;
  joinedAt: Date;
  suspended: boolean;
}

/** The live organizations a user is an active member of, by name (keyset on lower(name), id). */
export async function listUserOrgs(
  db: Executor,
  userId: string,
  page?: { limit: number; after?: { name: string; id: string } },
): Promise<UserOrgRow[]> {
  const conditions = [eq(memberships.userId, userId), eq(memberships.status, 'active'), liveOrganization()];
  if (page?.after) {
    const name = sql`lower(${organizations.name})`;
    conditions.push(
      or(gt(name, page.after.name), and(eq(name, page.after.name), gt(organizations.id, page.after.id)))!,
    );
  }
  const query = db
    .select({
      id: organizations.id,
      slug: organizations.slug,
      name: organizations.name,
      plan: organizations.plan,
      role: roles.slug,
      joinedAt: memberships.joinedAt,
      suspended: sql<boolean>`${organizations.suspendedAt} IS NOT NULL`,
    })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))
    .innerJoin(roles, membershipRole)
    .where(and(...conditions))
    .orderBy(asc(sql`lower(${organizations.name})`), asc(organizations.id));
  return page ? query.limit(page.limit) : query;
}

export async function findLogo(
  db: Executor,
  orgId: string,
): Promise<{ contentType: string; bytes: Buffer; sha256: string; updatedAt: Date } | undefined> {
  const [row] = await db
    .select({
      contentType: orgLogos.contentType,
      bytes: orgLogos.bytes,
      sha256: orgLogos.sha256,
      updatedAt: orgLogos.updatedAt,
    })
    .from(orgLogos)
    .innerJoin(organizations, eq(organizations.id, orgLogos.orgId))
    .where(live(orgId));
  return row;
}

export async function upsertLogo(
  tx: Executor,
  orgId: string,
  logo: { contentType: string; bytes: Buffer; sha256: string },
): Promise<void> {
  await tx
    .insert(orgLogos)
    .values({ orgId, ...logo })
    .onConflictDoUpdate({ target: orgLogos.orgId, set: { ...logo, updatedAt: sql`now()` } });
}

export async function deleteLogo(tx: Executor, orgId: string): Promise<boolean> {
  const rows = await tx
    .delete(orgLogos)
    .where(eq(orgLogos.orgId, orgId))
    .returning({ orgId: orgLogos.orgId });
  return rows.length > 0;
}

/**
 * Seconds until the user may create one more organization under a limit of `max` in any 24
 * hours (creations of since-deleted ones count), by the database's clock; undefined when they may now.
 */
export async function creationWaitSeconds(
  tx: Executor,
  userId: string,
  max: number,
): Promise<number | undefined> {
  const recent = and(
    eq(organizations.createdBy, userId),
    gt(organizations.createdAt, sql`now() - interval '1 day'`),
  );
  const [{ used } = { used: 0 }] = await tx
    .select({ used: sql<number>`count(*)::int` })
    .from(organizations)
    .where(recent);
  if (used < max) return undefined;
  const [row] = await tx
    .select({
      wait: sql<number>`extract(epoch from ${organizations.createdAt} + interval '1 day' - now())::float8`,
    })
    .from(organizations)
    .where(recent)
    .orderBy(asc(organizations.createdAt), asc(organizations.id))
    .offset(used - max)
    .limit(1);
  return Math.max(1, Number(row?.wait ?? 86_400));
}

/** A live organization by slug (any case) as operators name it, its row locked like a membership change. */
export function lockLiveOrgBySlug(tx: Executor, slug: string): Promise<LockedOrg | undefined> {
  return lockLiveOrgWhere(tx, sql`lower(${organizations.slug}) = lower(${slug})`);
}

export async function setOrgSuspended(tx: Executor, orgId: string, suspended: boolean): Promise<void> {
  await tx
    .update(organizations)
    .set({ suspendedAt: suspended ? sql`now()` : null })
    .where(live(orgId));
}

export async function setOrgPlan(tx: Executor, orgId: string, plan: string): Promise<void> {
  await tx.update(organizations).set({ plan, updatedAt: sql`now()` }).where(live(orgId));
}

export interface OperatorOrgRow {
  slug: string;
  name: string;
  plan: string;
  members: number;
  suspended: boolean;
  createdAt: Date;
}

/** Every live organization of the installation, oldest first, with its active members counted. */
export async function listAllOrgs(db: Executor): Promise<OperatorOrgRow[]> {
  return db
    .select({
      slug: organizations.slug,
      name: organizations.name,
      plan: organizations.plan,
      // Written out qualified: in a one-table select the builder leaves column names bare.
      members: sql<number>`(SELECT count(*)::int FROM memberships m
        WHERE m.org_id = "organizations"."id" AND m.status = 'active')`,
      suspended: sql<boolean>`${organizations.suspendedAt} IS NOT NULL`,
      createdAt: organizations.createdAt,
    })
    .from(organizations)
    .where(liveOrganization())
    .orderBy(asc(organizations.createdAt), asc(organizations.id));
}

/** An organization's security policy (Settings → Security). */
export interface OrgSecurity {
  require2fa: boolean;
  /** Null: the installation's idle timeout. */
  sessionIdleMinutes: number | null;
  /** Canonical CIDR blocks; empty: any address. */
  ipAllowlist: string[];
}

const securityColumns = {
  require2fa: organizations.require2fa,
  sessionIdleMinutes: organizations.sessionIdleMinutes,
  ipAllowlist: organizations.ipAllowlist,
};

export async function findSecurity(db: Executor, orgId: string): Promise<OrgSecurity | undefined> {
  const [row] = await db.select(securityColumns).from(organizations).where(live(orgId));
  return row;
}

export async function updateSecurity(
  tx: Executor,
  orgId: string,
  changes: Partial<OrgSecurity>,
): Promise<void> {
  await tx
    .update(organizations)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(live(orgId));
}

/**
 * The live organizations `userId` is an active member of that require two-factor authentication
 * of their members (by name). The account's own 2FA may not be turned off while this is not empty.
 */
export async function orgsRequiringTwoFactor(
  db: Executor,
  userId: string,
): Promise<{ id: string; slug: string; name: string }[]> {
  return db
    .select({ id: organizations.id, slug: organizations.slug, name: organizations.name })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))
    .where(
      and(
        eq(memberships.userId, userId),
        eq(memberships.status, 'active'),
        eq(organizations.require2fa, true),
        liveOrganization(),
      ),
    )
    .orderBy(asc(organizations.name), asc(organizations.id));
}

/** Settings → Platform, as stored (the schedule's bookkeeping included). */
export interface OrgPlatformRow {
  scanSchedule: string;
  scanScheduleDay: number;
  scanScheduleHour: number;
  scansScheduledAt: Date | null;
  autonomousScanning: boolean;
  fixVerification: boolean;
  deepAiEnrichment: boolean;
  remediationLanguage: string;
  timezone: string | null;
  /** The org's plan: whether its plan-gated switches are in effect. */
  plan: string;
}

const platformColumns = {
  scanSchedule: organizations.scanSchedule,
  scanScheduleDay: organizations.scanScheduleDay,
  scanScheduleHour: organizations.scanScheduleHour,
  scansScheduledAt: organizations.scansScheduledAt,
  autonomousScanning: organizations.autonomousScanning,
  fixVerification: organizations.fixVerification,
  deepAiEnrichment: organizations.deepAiEnrichment,
  remediationLanguage: organizations.remediationLanguage,
  timezone: organizations.timezone,
  plan: organizations.plan,
};

export async function findPlatformSettings(db: Executor, orgId: string): Promise<OrgPlatformRow | undefined> {
  const [row] = await db.select(platformColumns).from(organizations).where(live(orgId));
  return row;
}

/** Settings → Language, as stored. */
export interface OrgLocalizationRow {
  language: string;
  timezone: string | null;
  dateFormat: string;
}

const localizationColumns = {
  language: organizations.language,
  timezone: organizations.timezone,
  dateFormat: organizations.dateFormat,
};

export async function findLocalization(db: Executor, orgId: string): Promise<OrgLocalizationRow | undefined> {
  const [row] = await db.select(localizationColumns).from(organizations).where(live(orgId));
  return row;
}

/** Writes settings of the platform or language pages (and the schedule's bookkeeping). */
export async function updateSettings(
  tx: Executor,
  orgId: string,
  changes: Partial<Omit<OrgPlatformRow, 'scansScheduledAt' | 'plan'> & OrgLocalizationRow> & {
    scansScheduledAt?: Date | null;
    setupDismissedAt?: Date | null;
  },
): Promise<void> {
  await tx
    .update(organizations)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(live(orgId));
}

/** An org with scheduled scans, as the scheduler reads it. */
export interface ScheduledOrgRow {
  id: string;
  scanSchedule: 'weekly' | 'monthly';
  scanScheduleDay: number;
  scanScheduleHour: number;
  timezone: string | null;
  scansScheduledAt: Date | null;
}

/** Live, unsuspended organizations with a scan schedule. */
export async function listScheduledOrgs(db: Executor): Promise<ScheduledOrgRow[]> {
  const rows = await db
    .select({
      id: organizations.id,
      scanSchedule: organizations.scanSchedule,
      scanScheduleDay: organizations.scanScheduleDay,
      scanScheduleHour: organizations.scanScheduleHour,
      timezone: organizations.timezone,
      scansScheduledAt: organizations.scansScheduledAt,
    })
    .from(organizations)
    .where(
      and(
        sql`${organizations.scanSchedule} <> 'none'`,
        liveOrganization(),
        isNull(organizations.suspendedAt),
      ),
    );
  return rows as ScheduledOrgRow[];
}

/**
 * Takes a schedule slot for the org: true for exactly one caller per slot, however many instances
 * ask at once (the row only moves forward, under its row lock), and never for an org that is
 * deleted, suspended or without a schedule by then.
 */
export async function claimScheduleSlot(tx: Executor, orgId: string, slot: Date): Promise<boolean> {
  const rows = await tx
    .update(organizations)
    .set({ scansScheduledAt: slot })
    .where(
      and(
        live(orgId),
        // Decided again here, on the row as it is now: the org may have been suspended since the
        // scheduler listed it.
        isNull(organizations.suspendedAt),
        sql`${organizations.scanSchedule} <> 'none'`,
        or(isNull(organizations.scansScheduledAt), sql`${organizations.scansScheduledAt} < ${slot}`),
      ),
    )
    .returning({ id: organizations.id });
  return rows.length === 1;
}

/** What the setup checklist reads of the org itself. */
export async function findSetupFacts(
  db: Executor,
  orgId: string,
): Promise<{ hasLogo: boolean; hasDescription: boolean; dismissed: boolean } | undefined> {
  const [row] = await db
    .select({
      logo: orgLogos.orgId,
      description: organizations.description,
      dismissedAt: organizations.setupDismissedAt,
    })
    .from(organizations)
    .leftJoin(orgLogos, eq(orgLogos.orgId, organizations.id))
    .where(live(orgId));
  if (!row) return undefined;
  return {
    hasLogo: row.logo !== null,
    hasDescription: (row.description ?? '').trim() !== '',
    dismissed: row.dismissedAt !== null,
  };
}

/** Settings → Data & Privacy. */
export interface OrgDataSettings {
  /** Scans older than this many days (30 to 730) are deleted, with the findings no scan left saw. */
  scanRetentionDays: number;
}

export async function findDataSettings(db: Executor, orgId: string): Promise<OrgDataSettings | undefined> {
  const [row] = await db
    .select({ scanRetentionDays: organizations.scanRetentionDays })
    .from(organizations)
    .where(live(orgId));
  return row;
}

export async function updateDataSettings(
  tx: Executor,
  orgId: string,
  settings: OrgDataSettings,
): Promise<void> {
  await tx
    .update(organizations)
    .set({ scanRetentionDays: settings.scanRetentionDays, updatedAt: sql`now()` })
    .where(live(orgId));
}

/** Every live organization's id and scan retention (the daily retention job's list). */
export async function listOrgRetention(db: Executor): Promise<{ id: string; scanRetentionDays: number }[]> {
  return db
    .select({ id: organizations.id, scanRetentionDays: organizations.scanRetentionDays })
    .from(organizations)
    .where(liveOrganization())
    .orderBy(asc(organizations.id));
}

/** A deleted organization, as the purge and the operators' restore see it. */
export interface DeletedOrgRow {
  id: string;
  slug: string;
  name: string;
  plan: string;
  deletedAt: Date;
}

const deletedColumns = {
  id: organizations.id,
  slug: organizations.slug,
  name: organizations.name,
  plan: organizations.plan,
  deletedAt: sql<Date>`${organizations.deletedAt}`.mapWith(organizations.deletedAt),
};

/** Deleted organizations, longest deleted first (all, or those deleted before `before`). */
export async function listDeletedOrgs(db: Executor, before?: Date): Promise<DeletedOrgRow[]> {
  return db
    .select(deletedColumns)
    .from(organizations)
    .where(before ? sql`${organizations.deletedAt} < ${before}` : sql`${organizations.deletedAt} IS NOT NULL`)
    .orderBy(asc(organizations.deletedAt), asc(organizations.id));
}

/**
 * Locks a deleted organization for its purge, if it was deleted before `before` and no other
 * transaction holds it (another instance purging it, an operator restoring it): undefined then.
 */
export async function lockOrgToPurge(
  tx: Executor,
  orgId: string,
  before: Date,
): Promise<DeletedOrgRow | undefined> {
  const [row] = await tx
    .select(deletedColumns)
    .from(organizations)
    .where(and(eq(organizations.id, orgId), sql`${organizations.deletedAt} < ${before}`))
    .for('update', { skipLocked: true });
  return row;
}

/**
 * Deletes a deleted organization's row and, through the foreign keys' cascades, every row of its
 * data: members, roles, invitations, tokens, applications, scans, findings, policies, webhooks,
 * SSO and SCIM settings, quota records, exports and jobs. Its audit log (chain, entries and
 * checkpoints have no foreign key to it) stays, for the operator.
 */
export async function purgeOrgRow(tx: Executor, orgId: string): Promise<boolean> {
  const rows = await tx
    .delete(organizations)
    .where(and(eq(organizations.id, orgId), sql`${organizations.deletedAt} IS NOT NULL`))
    .returning({ id: organizations.id });
  return rows.length > 0;
}

/** Deleted organizations an operator named by id or slug (any case), their rows locked. */
export async function lockDeletedOrgs(tx: Executor, idOrSlug: string): Promise<DeletedOrgRow[]> {
  const byId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrSlug);
  return tx
    .select(deletedColumns)
    .from(organizations)
    .where(
      and(
        sql`${organizations.deletedAt} IS NOT NULL`,
        byId
          ? eq(organizations.id, idOrSlug.toLowerCase())
          : sql`lower(${organizations.slug}) = lower(${idOrSlug})`,
      ),
    )
    .orderBy(asc(organizations.deletedAt), asc(organizations.id))
    .for('update');
}

/** A deleted organization is live again (under `slug`, when given). */
export async function restoreOrgRow(tx: Executor, orgId: string, slug?: string): Promise<void> {
  await tx
    .update(organizations)
    .set({ deletedAt: null, updatedAt: sql`now()`, ...(slug ? { slug } : {}) })
    .where(and(eq(organizations.id, orgId), sql`${organizations.deletedAt} IS NOT NULL`));
}
