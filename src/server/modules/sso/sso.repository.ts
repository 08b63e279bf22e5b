import { createHash } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import { type LockedOrg, lockedOrgColumns } from '../../platform/access/guard.ts';
import type { Executor } from '../../platform/db/client.ts';
import { liveOrganization } from '../../platform/db/live.ts';
import {
  memberships,
  organizations,
  roles,
  ssoDomains,
  ssoGroupMappings,
  ssoIdentities,
  ssoOidc,
  ssoSaml,
  ssoSettings,
} from '../../platform/db/schema.ts';

export type Enforcement = 'coexist' | 'preferred' | 'enforced';

import type { SsoProtocol } from './sso.requests.repository.ts';

export type { SsoProtocol };

/** An org's SSO policy as stored, with the default role's slug; defaults when it has no row. */
export interface SsoSettingsRow {
  enforcement: Enforcement;
  jitProvisioning: boolean;
  defaultRoleId: string | null;
  defaultRole: string | null;
  groupsAttribute: string | null;
  allowIdpInitiated: boolean;
  domains: string[];
  updatedAt: Date | null;
}

export async function findSsoSettings(db: Executor, orgId: string): Promise<SsoSettingsRow> {
  const [row] = await db
    .select({
      enforcement: ssoSettings.enforcement,
      jitProvisioning: ssoSettings.jitProvisioning,
      defaultRoleId: ssoSettings.defaultRoleId,
      defaultRole: roles.slug,
      groupsAttribute: ssoSettings.groupsAttribute,
      allowIdpInitiated: ssoSettings.allowIdpInitiated,
      updatedAt: ssoSettings.updatedAt,
    })
    .from(ssoSettings)
    .leftJoin(roles, and(eq(roles.orgId, ssoSettings.orgId), eq(roles.id, ssoSettings.defaultRoleId)))
    .where(eq(ssoSettings.orgId, orgId));
  const domains = await listDomains(db, orgId);
  if (!row) {
    return {
      enforcement: 'coexist',
      jitProvisioning: false,
      defaultRoleId: null,
      defaultRole: null,
      groupsAttribute: null,
      allowIdpInitiated: false,
      domains,
      updatedAt: null,
    };
  }
  return { ...row, enforcement: row.enforcement as Enforcement, domains };
}

export interface SsoSettingsValues {
  enforcement: Enforcement;
  jitProvisioning: boolean;
  defaultRoleId: string | null;
  groupsAttribute: string | null;
  allowIdpInitiated: boolean;
}

export async function upsertSsoSettings(
  tx: Executor,
  orgId: string,
  values: SsoSettingsValues,
): Promise<void> {
  await tx
    .insert(ssoSettings)
    .values({ orgId, ...values })
    .onConflictDoUpdate({ target: ssoSettings.orgId, set: { ...values, updatedAt: sql`now()` } });
}

/** Locks the org's settings row (made first if missing): SSO changes of one org queue here. */
export async function lockSsoSettings(tx: Executor, orgId: string): Promise<void> {
  await tx.insert(ssoSettings).values({ orgId }).onConflictDoNothing();
  await tx
    .select({ orgId: ssoSettings.orgId })
    .from(ssoSettings)
    .where(eq(ssoSettings.orgId, orgId))
    .for('update');
}

export async function listDomains(db: Executor, orgId: string): Promise<string[]> {
  const rows = await db
    .select({ domain: ssoDomains.domain })
    .from(ssoDomains)
    .where(eq(ssoDomains.orgId, orgId))
    .orderBy(asc(ssoDomains.domain));
  return rows.map((r) => r.domain);
}

/** Replaces the org's domains; a domain another org holds makes the insert fail on its key. */
export async function replaceDomains(tx: Executor, orgId: string, domains: readonly string[]): Promise<void> {
  await tx.delete(ssoDomains).where(eq(ssoDomains.orgId, orgId));
  if (domains.length > 0) await tx.insert(ssoDomains).values(domains.map((domain) => ({ domain, orgId })));
}

/** The live org a domain points "Sign in with SSO" at. */
export async function findOrgByDomain(
  db: Executor,
  domain: string,
): Promise<{ id: string; slug: string } | undefined> {
  const [row] = await db
    .select({ id: organizations.id, slug: organizations.slug })
    .from(ssoDomains)
    .innerJoin(organizations, eq(organizations.id, ssoDomains.orgId))
    .where(and(eq(ssoDomains.domain, domain), liveOrganization()));
  return row;
}

/** A live org by slug (any case), for the sign-in routes that name it. */
export async function findOrgBySlug(db: Executor, slug: string): Promise<LockedOrg | undefined> {
  const [row] = await db
    .select(lockedOrgColumns)
    .from(organizations)
    .where(and(sql`lower(${organizations.slug}) = lower(${slug})`, liveOrganization()));
  return row;
}

// --- identity providers -------------------------------------------------------------------------

export interface OidcRow {
  issuer: string;
  clientId: string;
  /** Sealed (platform/secrets); never leaves the server. */
  clientSecret: string;
  scopes: string[];
  metadata: Record<string, unknown>;
  updatedAt: Date;
}

export async function findOidc(db: Executor, orgId: string): Promise<OidcRow | undefined> {
  const [row] = await db
    .select({
      issuer: ssoOidc.issuer,
      clientId: ssoOidc.clientId,
      clientSecret: ssoOidc.clientSecret,
      scopes: ssoOidc.scopes,
      metadata: ssoOidc.metadata,
      updatedAt: ssoOidc.updatedAt,
    })
    .from(ssoOidc)
    .where(eq(ssoOidc.orgId, orgId));
  return row ? { ...row, metadata: row.metadata as Record<string, unknown> } : undefined;
}

export async function upsertOidc(
  tx: Executor,
  orgId: string,
  values: Omit<OidcRow, 'updatedAt'>,
): Promise<void> {
  await tx
    .insert(ssoOidc)
    .values({ orgId, ...values })
    .onConflictDoUpdate({ target: ssoOidc.orgId, set: { ...values, updatedAt: sql`now()` } });
}

export async function deleteOidc(tx: Executor, orgId: string): Promise<boolean> {
  const rows = await tx.delete(ssoOidc).where(eq(ssoOidc.orgId, orgId)).returning({ orgId: ssoOidc.orgId });
  return rows.length > 0;
}

export interface SamlRow {
  idpEntityId: string;
  idpSsoUrl: string;
  idpCertificates: string[];
  idpMetadataUrl: string | null;
  updatedAt: Date;
}

export async function findSaml(db: Executor, orgId: string): Promise<SamlRow | undefined> {
  const [row] = await db
    .select({
      idpEntityId: ssoSaml.idpEntityId,
      idpSsoUrl: ssoSaml.idpSsoUrl,
      idpCertificates: ssoSaml.idpCertificates,
      idpMetadataUrl: ssoSaml.idpMetadataUrl,
      updatedAt: ssoSaml.updatedAt,
    })
    .from(ssoSaml)
    .where(eq(ssoSaml.orgId, orgId));
  return row;
}

export async function upsertSaml(
  tx: Executor,
  orgId: string,
  values: Omit<SamlRow, 'updatedAt'>,
): Promise<void> {
  await tx
    .insert(ssoSaml)
    .values({ orgId, ...values })
    .onConflictDoUpdate({ target: ssoSaml.orgId, set: { ...values, updatedAt: sql`now()` } });
}

export async function deleteSaml(tx: Executor, orgId: string): Promise<boolean> {
  const rows = await tx.delete(ssoSaml).where(eq(ssoSaml.orgId, orgId)).returning({ orgId: ssoSaml.orgId });
  return rows.length > 0;
}

// --- group mappings -----------------------------------------------------------------------------

export interface GroupMappingRow {
  id: string;
  idpGroup: string;
  roleId: string;
  role: string;
  roleName: string;
  createdAt: Date;
}

const mappingColumns = {
  id: ssoGroupMappings.id,
  idpGroup: ssoGroupMappings.idpGroup,
  roleId: ssoGroupMappings.roleId,
  role: roles.slug,
  roleName: roles.name,
  createdAt: ssoGroupMappings.createdAt,
};

/** The org's mappings in the order they are tried (oldest first). */
export async function listGroupMappings(db: Executor, orgId: string): Promise<GroupMappingRow[]> {
  return db
    .select(mappingColumns)
    .from(ssoGroupMappings)
    .innerJoin(roles, and(eq(roles.orgId, ssoGroupMappings.orgId), eq(roles.id, ssoGroupMappings.roleId)))
    .where(eq(ssoGroupMappings.orgId, orgId))
    .orderBy(asc(ssoGroupMappings.createdAt), asc(ssoGroupMappings.id));
}

export async function countGroupMappings(db: Executor, orgId: string): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(ssoGroupMappings)
    .where(eq(ssoGroupMappings.orgId, orgId));
  return row?.n ?? 0;
}

export async function insertGroupMapping(
  tx: Executor,
  orgId: string,
  values: { idpGroup: string; roleId: string },
): Promise<string> {
  const [row] = await tx
    .insert(ssoGroupMappings)
    .values({ orgId, ...values })
    .returning({ id: ssoGroupMappings.id });
  return row!.id;
}

export async function findGroupMapping(
  db: Executor,
  orgId: string,
  id: string,
): Promise<GroupMappingRow | undefined> {
  const [row] = await db
    .select(mappingColumns)
    .from(ssoGroupMappings)
    .innerJoin(roles, and(eq(roles.orgId, ssoGroupMappings.orgId), eq(roles.id, ssoGroupMappings.roleId)))
    .where(and(eq(ssoGroupMappings.orgId, orgId), eq(ssoGroupMappings.id, id)));
  return row;
}

export async function deleteGroupMapping(tx: Executor, orgId: string, id: string): Promise<void> {
  await tx
    .delete(ssoGroupMappings)
    .where(and(eq(ssoGroupMappings.orgId, orgId), eq(ssoGroupMappings.id, id)));
}

// --- identities ---------------------------------------------------------------------------------

export async function findIdentity(
  tx: Executor,
  orgId: string,
  protocol: SsoProtocol,
  subject: string,
): Promise<{ userId: string } | undefined> {
  const [row] = await tx
    .select({ userId: ssoIdentities.userId })
    .from(ssoIdentities)
    .where(
      and(
        eq(ssoIdentities.orgId, orgId),
        eq(ssoIdentities.protocol, protocol),
        eq(ssoIdentities.subject, subject),
      ),
    )
    .for('update');
  return row;
}

/** Forgets a link (its account was deleted: the identity may sign someone in afresh). */
export async function deleteIdentity(tx: Executor, orgId: string, protocol: SsoProtocol, subject: string) {
  await tx
    .delete(ssoIdentities)
    .where(
      and(
        eq(ssoIdentities.orgId, orgId),
        eq(ssoIdentities.protocol, protocol),
        eq(ssoIdentities.subject, subject),
      ),
    );
}

/** Forgets every link of the org's IdP of this protocol (the org moved to another IdP). */
export async function deleteOrgIdentities(tx: Executor, orgId: string, protocol: SsoProtocol): Promise<void> {
  await tx
    .delete(ssoIdentities)
    .where(and(eq(ssoIdentities.orgId, orgId), eq(ssoIdentities.protocol, protocol)));
}

/** Links the identity to the account; false when it was linked meanwhile (the caller retries). */
export async function insertIdentity(
  tx: Executor,
  orgId: string,
  values: { protocol: SsoProtocol; subject: string; userId: string; email: string | null },
): Promise<boolean> {
  const rows = await tx
    .insert(ssoIdentities)
    .values({ orgId, ...values, lastLoginAt: sql`now()` })
    .onConflictDoNothing()
    .returning({ userId: ssoIdentities.userId });
  return rows.length > 0;
}

export async function touchIdentity(
  tx: Executor,
  orgId: string,
  protocol: SsoProtocol,
  subject: string,
  email: string | null,
): Promise<void> {
  await tx
    .update(ssoIdentities)
    .set({ lastLoginAt: sql`now()`, email })
    .where(
      and(
        eq(ssoIdentities.orgId, orgId),
        eq(ssoIdentities.protocol, protocol),
        eq(ssoIdentities.subject, subject),
      ),
    );
}

/** The org's identities of one account (its own export, the member's detail). */
export async function listUserIdentities(db: Executor, userId: string) {
  return db
    .select({
      orgId: ssoIdentities.orgId,
      protocol: ssoIdentities.protocol,
      subject: ssoIdentities.subject,
      createdAt: ssoIdentities.createdAt,
      lastLoginAt: ssoIdentities.lastLoginAt,
    })
    .from(ssoIdentities)
    .where(eq(ssoIdentities.userId, userId));
}

/** Unlinks every SSO identity of one account, in every org; returns how many. */
export async function deleteUserIdentities(tx: Executor, userId: string): Promise<number> {
  const rows = await tx
    .delete(ssoIdentities)
    .where(eq(ssoIdentities.userId, userId))
    .returning({ orgId: ssoIdentities.orgId });
  return rows.length;
}

/** What a bearer value (an OIDC state, a binding cookie) is stored as: its SHA-256, hex. */
export const sha256Hex = (value: string) => createHash('sha256').update(value).digest('hex');

/**
 * What a compliance report says of the organization's single sign-on: which providers are
 * configured, the enforcement, and how many of its active members have signed in through one
 * (an identity linked to them), and how many within a period.
 */
export async function ssoCoverage(
  db: Executor,
  orgId: string,
  period: { from: Date; to: Date },
): Promise<{
  oidc: boolean;
  saml: boolean;
  enforcement: Enforcement;
  linkedMembers: number;
  signedInDuringPeriod: number;
}> {
  const settings = await findSsoSettings(db, orgId);
  const [oidc] = await db.select({ orgId: ssoOidc.orgId }).from(ssoOidc).where(eq(ssoOidc.orgId, orgId));
  const [saml] = await db.select({ orgId: ssoSaml.orgId }).from(ssoSaml).where(eq(ssoSaml.orgId, orgId));
  const [row] = await db
    .select({
      linked: sql<number>`count(DISTINCT ${ssoIdentities.userId})::int`,
      during: sql<number>`count(DISTINCT ${ssoIdentities.userId}) FILTER (WHERE ${ssoIdentities.lastLoginAt} >= ${period.from.toISOString()}::timestamptz AND ${ssoIdentities.lastLoginAt} < ${period.to.toISOString()}::timestamptz)::int`,
    })
    .from(ssoIdentities)
    .innerJoin(
      memberships,
      and(
        eq(memberships.orgId, ssoIdentities.orgId),
        eq(memberships.userId, ssoIdentities.userId),
        eq(memberships.status, 'active'),
      ),
    )
    .where(eq(ssoIdentities.orgId, orgId));
  return {
    oidc: oidc !== undefined,
    saml: saml !== undefined,
    enforcement: settings.enforcement,
    linkedMembers: row?.linked ?? 0,
    signedInDuringPeriod: row?.during ?? 0,
  };
}
