import { auditWordStrings } from './audit-words.strings.ts';
import { catalogStrings } from './catalog-words.strings.ts';
import { accountStrings } from './pages/Account.strings.ts';
import { passkeyStrings } from './pages/AccountPasskeys.strings.ts';
import { accountSecurityStrings } from './pages/AccountSecurity.strings.ts';
import { aiConnectionsStrings } from './pages/AiConnections.strings.ts';
import { applicationsStrings } from './pages/Applications.strings.ts';
import { auditLogStrings } from './pages/AuditLog.strings.ts';
import { billingStrings } from './pages/Billing.strings.ts';
import { connectionTestStrings } from './pages/ConnectionTest.strings.ts';
import { dataPrivacyStrings } from './pages/DataPrivacy.strings.ts';
import { findingsStrings } from './pages/Findings.strings.ts';
import { integrationsStrings } from './pages/Integrations.strings.ts';
import { invoicesStrings } from './pages/Invoices.strings.ts';
import { memberDetailStrings } from './pages/MemberDetail.strings.ts';
import { notificationsStrings } from './pages/Notifications.strings.ts';
import { policiesStrings } from './pages/Policies.strings.ts';
import { preferencesStrings } from './pages/Preferences.strings.ts';
import { profileStrings } from './pages/Profile.strings.ts';
import { recoveryStrings } from './pages/Recovery.strings.ts';
import { reportsStrings } from './pages/Reports.strings.ts';
import { rolesStrings } from './pages/Roles.strings.ts';
import { scansStrings } from './pages/Scans.strings.ts';
import { scimStrings } from './pages/Scim.strings.ts';
import { securityStrings } from './pages/Security.strings.ts';
import { ssoStrings } from './pages/Sso.strings.ts';
import { teamStrings } from './pages/Team.strings.ts';
import { usageStrings } from './pages/Usage.strings.ts';
import { webhooksStrings } from './pages/Webhooks.strings.ts';
import { problemStrings } from './problems.strings.ts';
import { shellStrings } from './shell.strings.ts';
import type { Strings } from './strings-bundle.ts';

/**
 * Each page's own words (`pages/<Page>.strings.ts`), merged by i18n.ts with the shared ones. A page
 * that adds words adds its bundle here.
 */
export const pageStrings: Strings[] = [
  accountStrings,
  passkeyStrings,
  accountSecurityStrings,
  auditLogStrings,
  rolesStrings,
  policiesStrings,
  teamStrings,
  profileStrings,
  securityStrings,
  dataPrivacyStrings,
  invoicesStrings,
  reportsStrings,
  billingStrings,
  ssoStrings,
  scimStrings,
  recoveryStrings,
  catalogStrings,
  auditWordStrings,
  memberDetailStrings,
  applicationsStrings,
  scansStrings,
  findingsStrings,
  problemStrings,
  shellStrings,
  usageStrings,
  webhooksStrings,
  notificationsStrings,
  preferencesStrings,
  aiConnectionsStrings,
  integrationsStrings,
  connectionTestStrings,
];
