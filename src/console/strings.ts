import type { Strings } from './i18n.ts';
import { auditLogStrings } from './pages/AuditLog.strings.ts';
import { teamStrings } from './pages/Team.strings.ts';

/**
 * Each page's own words (`pages/<Page>.strings.ts`), merged by i18n.ts with the shared ones. A page
 * that adds words adds its bundle here.
 */
export const pageStrings: Strings[] = [auditLogStrings, teamStrings];
