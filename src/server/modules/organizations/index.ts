import type { FastifyInstance } from 'fastify';
import { Organization, organizationsRoutes } from './organizations.routes.ts';

export { endOrganization, orgTarget, WouldLockOutError } from './organizations.commands.ts';
export {
  type DeletedOrgRow,
  findDataSettings,
  findOrg,
  findSecurity,
  isSlugTaken,
  listAllOrgs,
  listDeletedOrgs,
  listOrgRetention,
  lockDeletedOrgs,
  lockLiveOrgBySlug,
  lockOrgToPurge,
  type OperatorOrgRow,
  type OrgDataSettings,
  orgsRequiringTwoFactor,
  purgeOrgRow,
  restoreOrgRow,
  setOrgPlan,
  setOrgSuspended,
  updateDataSettings,
} from './organizations.repository.ts';
export { Entitlements } from './organizations.routes.ts';

/** Organizations: creation, the profile and logo, deletion. */
export async function organizationsModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Organization);
  organizationsRoutes(app);
}
