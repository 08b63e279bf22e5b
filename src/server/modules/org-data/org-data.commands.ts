import { ORGS_CACHE } from '../../platform/access/access.ts';
import { orgAccess } from '../../platform/access/guard.ts';
import { defineCommand } from '../../platform/command.ts';
import { UnauthenticatedError } from '../../platform/errors/app-error.ts';
import {
  findDataSettings,
  findOrg,
  lockOrgToPurge,
  type OrgDataSettings,
  orgTarget,
  purgeOrgRow,
  updateDataSettings,
} from '../organizations/index.ts';
import { deleteScanResultsBefore } from '../scans/index.ts';
import { ORG_EXPORT_JOB } from './org-data.export.ts';
import { type ExportRow, findExport, findExportUnderWay, insertExport } from './org-data.repository.ts';

const DAY_MS = 86_400_000;

/** Settings → Data & Privacy: how long scan results are kept. */
export const changeDataSettings = defineCommand({
  action: 'settings.updated',
  permission: 'settings:update',
  // Two admins' changes apply one after the other, so each entry's before/after is exact.
  orgLock: 'exclusive',
  async run(ctx, input: OrgDataSettings): Promise<OrgDataSettings> {
    const { orgId, orgName } = orgAccess(ctx);
    const before = (await findDataSettings(ctx.tx, orgId))!;
    if (before.scanRetentionDays === input.scanRetentionDays) {
      ctx.unchanged();
      return before;
    }
    await updateDataSettings(ctx.tx, orgId, input);
    ctx.record({
      target: { type: 'organization', id: orgId, name: orgName },
      before: { scanRetentionDays: before.scanRetentionDays },
      after: { scanRetentionDays: input.scanRetentionDays },
    });
    return { scanRetentionDays: input.scanRetentionDays };
  },
});

/**
 * Asks for an export of everything the organization holds: the export is written (pending) with
 * the job that builds it, in one transaction. One export at a time: while one is being built,
 * asking again answers that one and records nothing.
 */
export const requestOrgExport = defineCommand({
  action: 'org.exported',
  permission: 'org:export',
  // Two requests at once do not both find no export under way.
  orgLock: 'exclusive',
  async run(ctx): Promise<ExportRow> {
    const { orgId, orgName, userId } = orgAccess(ctx);
    const underWay = await findExportUnderWay(ctx.tx, orgId);
    if (underWay) {
      ctx.unchanged();
      return underWay;
    }
    const id = await insertExport(ctx.tx, { orgId, requestedBy: userId });
    await ctx.enqueue({
      kind: ORG_EXPORT_JOB,
      payload: { exportId: id },
      orgId,
      dedupeKey: `org.export:${id}`,
    });
    ctx.record({ target: { type: 'organization', id: orgId, name: orgName }, after: { exportId: id } });
    return (await findExport(ctx.tx, orgId, id))!;
  },
});

/**
 * Scan retention for one organization, as the system: its scans older than its retention go, and
 * the findings left with no scan (see deleteScanResultsBefore for exactly which). `asOf` is the
 * time it acts at (now, but for tests). Recorded with what went; a run that deletes nothing
 * records nothing. Undefined for an organization that is not live (deleted ones are purged whole).
 */
export const applyScanRetentionToOrg = defineCommand({
  action: 'scans.retention_applied',
  async run(ctx, input: { orgId: string; asOf: Date }) {
    if (ctx.actor.type !== 'system') throw new UnauthenticatedError();
    const org = await findOrg(ctx.tx, input.orgId);
    const settings = await findDataSettings(ctx.tx, input.orgId);
    if (!org || !settings) {
      ctx.unchanged();
      return undefined;
    }
    const cutoff = new Date(input.asOf.getTime() - settings.scanRetentionDays * DAY_MS);
    const gone = await deleteScanResultsBefore(ctx.tx, org.id, cutoff);
    const result = { retentionDays: settings.scanRetentionDays, cutoff, ...gone };
    if (gone.scans === 0 && gone.findings === 0) {
      ctx.unchanged();
      return result;
    }
    ctx.record({
      orgId: org.id,
      target: orgTarget(org),
      after: {
        retentionDays: settings.scanRetentionDays,
        cutoff: cutoff.toISOString(),
        scansDeleted: gone.scans,
        findingsDeleted: gone.findings,
      },
    });
    return result;
  },
});

/**
 * Purges an organization deleted before `before` (its grace period over), as the system: every
 * row of its data goes (see purgeOrgRow); its audit log stays and records the purge. Nothing (and
 * nothing recorded) when it is not such an organization or another transaction holds it (another
 * instance purging it, an operator restoring it).
 */
export const purgeDeletedOrganization = defineCommand({
  action: 'org.purged',
  async run(ctx, input: { orgId: string; before: Date; graceDays: number }): Promise<boolean> {
    if (ctx.actor.type !== 'system') throw new UnauthenticatedError();
    const org = await lockOrgToPurge(ctx.tx, input.orgId, input.before);
    if (!org) {
      ctx.unchanged();
      return false;
    }
    await purgeOrgRow(ctx.tx, org.id);
    await ctx.invalidate(ORGS_CACHE, org.id);
    ctx.record({
      orgId: org.id,
      target: orgTarget(org),
      before: { slug: org.slug, name: org.name, plan: org.plan, deletedAt: org.deletedAt.toISOString() },
      after: { purged: true, graceDays: input.graceDays },
    });
    return true;
  },
});
