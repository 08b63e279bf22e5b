import type { FastifyInstance } from 'fastify';
import { Organization, organizationsRoutes } from './organizations.routes.ts';
import { settingsRoutes } from './organizations.settings.routes.ts';

export { endOrganization, orgTarget, WouldLockOutError } from './organizations.commands.ts';
export {
  claimScheduleSlot,
  type DeletedOrgRow,
  findDataSettings,
  findLocalization,
  findOrg,
  findPlatformSettings,
  findSecurity,
  findSetupFacts,
  isSlugTaken,
  listAllOrgs,
  listDeletedOrgs,
  listOrgRetention,
  listScheduledOrgs,
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
export { scheduleSlots } from './organizations.schedule.ts';
export { scanOptions, setSetupDismissed } from './organizations.settings.ts';

/** Organizations: creation, the profile and logo, deletion. */
export async function organizationsModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Organization);
  organizationsRoutes(app);
  settingsRoutes(app);
}
