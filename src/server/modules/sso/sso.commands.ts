import { OWNER_ROLE } from '../../../contracts/roles.ts';
import { ORGS_CACHE } from '../../platform/access/access.ts';
import { orgAccess } from '../../platform/access/guard.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import { pgErrorCode } from '../../platform/db/errors.ts';
import { assertFound, ConflictError, ValidationError } from '../../platform/errors/app-error.ts';
import { WouldLockOutError } from '../organizations/index.ts';
import { findRoleBySlug } from '../roles/index.ts';
import {
  countGroupMappings,
  deleteGroupMapping,
  deleteOidc,
  deleteSaml,
  type Enforcement,
  findGroupMapping,
  findOidc,
  findOrgByDomain,
  findSaml,
  findSsoSettings,
  insertGroupMapping,
  lockSsoSettings,
  type OidcRow,
  replaceDomains,
  type SamlRow,
  type SsoSettingsRow,
  upsertOidc,
  upsertSaml,
  upsertSsoSettings,
} from './sso.repository.ts';

/** Where an org's OIDC client secret is sealed: the context names the org, so it opens nowhere else. */
export const clientSecretContext = (orgId: string) => `sso_oidc.client_secret:${orgId}`;

/** Group mappings one organization may have. */
export const GROUP_MAPPINGS_PER_ORG = 100;
/** Email domains one organization may point "Sign in with SSO" at. */
export const DOMAINS_PER_ORG = 20;

class IdpConflictError extends ConflictError {
  constructor(other: 'oidc' | 'saml') {
    super(
      `This organization signs in with ${other === 'oidc' ? 'OIDC' : 'SAML'}: remove that connection first (an organization has one identity provider).`,
      'conflict',
      { reason: 'protocol_taken', protocol: other },
    );
  }
}

class EnforcedIdpError extends ConflictError {
  constructor() {
    super(
      'SSO is enforced: removing the identity provider would leave no way in. Set enforcement to coexist or preferred first.',
      'conflict',
      { reason: 'sso_enforced' },
    );
  }
}

class DomainTakenError extends ConflictError {
  constructor(domain: string) {
    super(`The domain ${domain} already points at another organization’s single sign-on.`, 'conflict', {
      reason: 'domain_taken',
      domain,
    });
  }
}

/**
 * Every SSO change holds the org's settings row (made first if missing) for its transaction: two
 * admins' changes apply one after the other, and the org's cached policy (enforcement, protocol)
 * is dropped on every instance at commit.
 */
async function holdSso(ctx: CommandContext, orgId: string): Promise<void> {
  await lockSsoSettings(ctx.tx, orgId);
  await ctx.invalidate(ORGS_CACHE, orgId);
}

const ssoTarget = (orgId: string, orgName: string) => ({ type: 'sso', id: orgId, name: orgName });

export interface SsoSettingsInput {
  enforcement?: Enforcement;
  jitProvisioning?: boolean;
  /** A role's slug, or null for the built-in default. */
  defaultRole?: string | null;
  groupsAttribute?: string | null;
  domains?: string[];
  allowIdpInitiated?: boolean;
  /** The org whose IdP signed the caller's own session in (enforcing asks it to be this one). */
  callerSsoOrgId: string | null | undefined;
}

const settingsSnapshot = (s: Omit<SsoSettingsRow, 'defaultRoleId' | 'updatedAt'>) => ({
  enforcement: s.enforcement,
  jitProvisioning: s.jitProvisioning,
  defaultRole: s.defaultRole,
  groupsAttribute: s.groupsAttribute,
  domains: s.domains,
  allowIdpInitiated: s.allowIdpInitiated,
});

export const updateSsoSettings = defineCommand({
  action: 'sso.updated',
  permission: 'sso:manage',
  async run(ctx, input: SsoSettingsInput): Promise<SsoSettingsRow> {
    const { orgId, orgName } = orgAccess(ctx);
    await holdSso(ctx, orgId);
    const before = await findSsoSettings(ctx.tx, orgId);
    let defaultRoleId = before.defaultRoleId;
    let defaultRole = before.defaultRole;
    if (input.defaultRole !== undefined) {
      if (input.defaultRole === null) {
        defaultRoleId = null;
        defaultRole = null;
      } else {
        const role = await findRoleBySlug(ctx.tx, orgId, input.defaultRole);
        if (!role) {
          throw new ValidationError([
            { field: '/body/defaultRole', message: 'is not a role of this organization' },
          ]);
        }
        if (role.slug === OWNER_ROLE) {
          throw new ValidationError([{ field: '/body/defaultRole', message: 'cannot be Owner' }]);
        }
        defaultRoleId = role.id;
        defaultRole = role.slug;
      }
    }
    const after = {
      enforcement: input.enforcement ?? before.enforcement,
      jitProvisioning: input.jitProvisioning ?? before.jitProvisioning,
      defaultRole,
      groupsAttribute: input.groupsAttribute !== undefined ? input.groupsAttribute : before.groupsAttribute,
      domains: input.domains ?? before.domains,
      allowIdpInitiated: input.allowIdpInitiated ?? before.allowIdpInitiated,
    };
    const same = JSON.stringify(settingsSnapshot(after)) === JSON.stringify(settingsSnapshot(before));
    if (same) {
      ctx.unchanged();
      return before;
    }
    if (after.enforcement === 'enforced' && before.enforcement !== 'enforced') {
      const [oidc, saml] = [await findOidc(ctx.tx, orgId), await findSaml(ctx.tx, orgId)];
      if (!oidc && !saml) {
        throw new ConflictError(
          'Connect an identity provider (OIDC or SAML) before enforcing SSO.',
          'conflict',
          {
            reason: 'no_identity_provider',
          },
        );
      }
      // Enforced from the next request on: the one enforcing must already be through the IdP.
      if (input.callerSsoOrgId !== undefined && input.callerSsoOrgId !== orgId) {
        throw new WouldLockOutError('sso', null);
      }
    }
    if (after.domains.length > DOMAINS_PER_ORG) {
      throw new ValidationError([
        { field: '/body/domains', message: `must have at most ${DOMAINS_PER_ORG} entries` },
      ]);
    }
    await upsertSsoSettings(ctx.tx, orgId, {
      enforcement: after.enforcement,
      jitProvisioning: after.jitProvisioning,
      defaultRoleId,
      groupsAttribute: after.groupsAttribute,
      allowIdpInitiated: after.allowIdpInitiated,
    });
    if (input.domains !== undefined && input.domains.join() !== before.domains.join()) {
      try {
        await ctx.tx.transaction(async (sp) => replaceDomains(sp, orgId, after.domains));
      } catch (err) {
        if (pgErrorCode(err) === '23505') {
          const taken = await firstTaken(ctx, orgId, after.domains);
          throw new DomainTakenError(taken ?? after.domains[0]!);
        }
        throw err;
      }
    }
    ctx.record({
      target: ssoTarget(orgId, orgName),
      before: settingsSnapshot(before),
      after: settingsSnapshot(after),
    });
    return { ...after, defaultRoleId, updatedAt: new Date() };
  },
});

async function firstTaken(ctx: CommandContext, orgId: string, domains: readonly string[]) {
  for (const domain of domains) {
    const holder = await findOrgByDomain(ctx.tx, domain);
    if (holder && holder.id !== orgId) return domain;
  }
  return undefined;
}

export interface OidcInput {
  issuer: string;
  clientId: string;
  /** Omitted: the stored one is kept (the console never has it to send back). */
  clientSecret?: string;
  scopes: string[];
  /** The issuer's discovery document, fetched through the guard before the transaction. */
  metadata: Record<string, unknown>;
}

const oidcSnapshot = (o: Pick<OidcRow, 'issuer' | 'clientId' | 'scopes'>) => ({
  issuer: o.issuer,
  clientId: o.clientId,
  scopes: o.scopes,
});

export const saveOidc = defineCommand({
  action: 'sso.oidc_updated',
  permission: 'sso:manage',
  async run(ctx, input: OidcInput): Promise<void> {
    const { orgId, orgName } = orgAccess(ctx);
    await holdSso(ctx, orgId);
    if (await findSaml(ctx.tx, orgId)) throw new IdpConflictError('saml');
    const before = await findOidc(ctx.tx, orgId);
    if (input.clientSecret === undefined && !before) {
      throw new ValidationError([{ field: '/body/clientSecret', message: 'is required' }]);
    }
    const clientSecret =
      input.clientSecret !== undefined
        ? ctx.services.secrets.seal(input.clientSecret, clientSecretContext(orgId))
        : before!.clientSecret;
    await upsertOidc(ctx.tx, orgId, {
      issuer: input.issuer,
      clientId: input.clientId,
      clientSecret,
      scopes: input.scopes,
      metadata: input.metadata,
    });
    ctx.record({
      target: ssoTarget(orgId, orgName),
      before: before ? oidcSnapshot(before) : null,
      // The secret is never recorded; only that it changed.
      after: {
        ...oidcSnapshot(input),
        ...(input.clientSecret !== undefined ? { clientSecretChanged: true } : {}),
      },
    });
  },
});

export const removeOidc = defineCommand({
  action: 'sso.oidc_updated',
  permission: 'sso:manage',
  async run(ctx, _input: Record<string, never>): Promise<void> {
    const { orgId, orgName } = orgAccess(ctx);
    await holdSso(ctx, orgId);
    const before = await findOidc(ctx.tx, orgId);
    assertFound(before, 'OIDC connection');
    if ((await findSsoSettings(ctx.tx, orgId)).enforcement === 'enforced') throw new EnforcedIdpError();
    await deleteOidc(ctx.tx, orgId);
    ctx.record({ target: ssoTarget(orgId, orgName), before: oidcSnapshot(before), after: null });
  },
});

export type SamlInput = Omit<SamlRow, 'updatedAt'>;

const samlSnapshot = (s: SamlInput) => ({
  idpEntityId: s.idpEntityId,
  idpSsoUrl: s.idpSsoUrl,
  idpMetadataUrl: s.idpMetadataUrl,
  // Certificates are public; the log keeps which ones (their count and ends) rather than the PEM.
  idpCertificates: s.idpCertificates.length,
});

export const saveSaml = defineCommand({
  action: 'sso.saml_updated',
  permission: 'sso:manage',
  async run(ctx, input: SamlInput & { fingerprints: string[] }): Promise<void> {
    const { orgId, orgName } = orgAccess(ctx);
    await holdSso(ctx, orgId);
    if (await findOidc(ctx.tx, orgId)) throw new IdpConflictError('oidc');
    const before = await findSaml(ctx.tx, orgId);
    const { fingerprints, ...values } = input;
    await upsertSaml(ctx.tx, orgId, values);
    ctx.record({
      target: ssoTarget(orgId, orgName),
      before: before ? samlSnapshot(before) : null,
      after: { ...samlSnapshot(values), certificateFingerprints: fingerprints },
    });
  },
});

export const removeSaml = defineCommand({
  action: 'sso.saml_updated',
  permission: 'sso:manage',
  async run(ctx, _input: Record<string, never>): Promise<void> {
    const { orgId, orgName } = orgAccess(ctx);
    await holdSso(ctx, orgId);
    const before = await findSaml(ctx.tx, orgId);
    assertFound(before, 'SAML connection');
    if ((await findSsoSettings(ctx.tx, orgId)).enforcement === 'enforced') throw new EnforcedIdpError();
    await deleteSaml(ctx.tx, orgId);
    ctx.record({ target: ssoTarget(orgId, orgName), before: samlSnapshot(before), after: null });
  },
});

export const createGroupMapping = defineCommand({
  action: 'sso.group_mapping_created',
  permission: 'sso:manage',
  constraints: {
    sso_group_mappings_org_group_key: () =>
      new ConflictError(
        'This IdP group is mapped already: delete its mapping first to change its role.',
        'conflict',
        {
          reason: 'group_mapped',
        },
      ),
  },
  async run(ctx, input: { idpGroup: string; role: string }) {
    const { orgId } = orgAccess(ctx);
    await holdSso(ctx, orgId);
    const role = await findRoleBySlug(ctx.tx, orgId, input.role);
    if (!role)
      throw new ValidationError([{ field: '/body/role', message: 'is not a role of this organization' }]);
    // An IdP group never makes Owners: ownership is given by a person, on the record.
    if (role.slug === OWNER_ROLE)
      throw new ValidationError([{ field: '/body/role', message: 'cannot be Owner' }]);
    if ((await countGroupMappings(ctx.tx, orgId)) >= GROUP_MAPPINGS_PER_ORG) {
      throw new ConflictError(
        `An organization may have ${GROUP_MAPPINGS_PER_ORG} group mappings.`,
        'conflict',
        {
          reason: 'mapping_limit',
          limit: GROUP_MAPPINGS_PER_ORG,
        },
      );
    }
    const id = await insertGroupMapping(ctx.tx, orgId, { idpGroup: input.idpGroup, roleId: role.id });
    ctx.record({
      target: { type: 'sso_group_mapping', id, name: input.idpGroup },
      after: { idpGroup: input.idpGroup, role: role.slug, roleName: role.name },
    });
    return (await findGroupMapping(ctx.tx, orgId, id))!;
  },
});

export const removeGroupMapping = defineCommand({
  action: 'sso.group_mapping_deleted',
  permission: 'sso:manage',
  async run(ctx, input: { id: string }): Promise<void> {
    const { orgId } = orgAccess(ctx);
    await holdSso(ctx, orgId);
    const mapping = await findGroupMapping(ctx.tx, orgId, input.id);
    assertFound(mapping, 'group mapping');
    await deleteGroupMapping(ctx.tx, orgId, mapping.id);
    ctx.record({
      target: { type: 'sso_group_mapping', id: mapping.id, name: mapping.idpGroup },
      before: { idpGroup: mapping.idpGroup, role: mapping.role, roleName: mapping.roleName },
    });
  },
});
