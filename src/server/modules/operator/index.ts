// Instance operators: commands the CLI runs on the server's own database (no HTTP route).

export { JOB_STATES, type JobRow, type JobState, listJobs } from '../../platform/outbox/index.ts';
export { listAllUsers, type OperatorUserRow } from '../accounts/index.ts';
export {
  type DeletedOrgRow,
  listAllOrgs,
  listDeletedOrgs,
  type OperatorOrgRow,
} from '../organizations/index.ts';
export { planCatalog } from '../quota/index.ts';
export {
  breakGlass,
  changeModuleCost,
  changeOrganizationPlan,
  deleteOrganizationAsOperator,
  disableUser,
  enableUser,
  OperatorAmbiguousError,
  OperatorNotFoundError,
  resetUserTwoFactor,
  restoreOrganization,
  retryOutboxJob,
  suspendOrganization,
  unsuspendOrganization,
} from './operator.commands.ts';
