import type { FastifyInstance } from 'fastify';
import { Organization, organizationsRoutes } from './organizations.routes.ts';
import { settingsRoutes } from './organizations.settings.routes.ts';

export { endOrganization, orgTarget, WouldLockOutError } from './organizations.commands.ts';
export {
  claimScheduleSlot,
  findLocalization,
  findOrg,
  findPlatformSettings,
  findSetupFacts,
  listAllOrgs,
  listScheduledOrgs,
  lockLiveOrgBySlug,
  type OperatorOrgRow,
  orgsRequiringTwoFactor,
  setOrgPlan,
  setOrgSuspended,
} from './organizations.repository.ts';
export { Entitlements } from './organizations.routes.ts';
export { scheduleSlots } from './organizations.schedule.ts';
export { setSetupDismissed } from './organizations.settings.ts';

/** Organizations: creation, the profile and logo, deletion. */
export async function organizationsModule(app: FastifyInstance): Promise<void> {
  app.addSchema(Organization);
  organizationsRoutes(app);
  settingsRoutes(app);
}
