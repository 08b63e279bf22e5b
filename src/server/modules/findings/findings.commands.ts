import type { FindingResolvedData } from '../../../contracts/events.ts';
import { orgAccess } from '../../platform/access/guard.ts';
import { actorRef, eventActor } from '../../platform/actor.ts';
import { defineCommand } from '../../platform/command.ts';
import {
  assertFound,
  ConflictError,
  PermissionDeniedError,
  PreconditionFailedError,
  ValidationError,
} from '../../platform/errors/app-error.ts';
import { digestTag, ifMatches } from '../../platform/http/etag.ts';
import { findMember } from '../members/index.ts';
import {
  approveProposed,
  type FindingDetailRow,
  type FindingStatus,
  findComment,
  findRemediation,
  insertComment,
  insertRemediation,
  lockFinding,
  updateFinding,
} from './findings.repository.ts';

/** A finding as the audit trail names it (its title as of the change). */
const findingTarget = (f: FindingDetailRow) => ({ type: 'finding', id: f.id, name: f.title.slice(0, 200) });

/**
 * A finding's entity tag: a digest of what PATCH changes (status and assignee), so a client can
 * ask for its change to apply only to the finding as it read it (If-Match), as roles do.
 */
export function findingEtag(f: { status: string; assigneeId: string | null }): string {
  return digestTag([f.status, f.assigneeId]);
}

async function requireFinding(tx: Parameters<typeof lockFinding>[0], orgId: string, id: string) {
  const finding = await lockFinding(tx, orgId, id);
  assertFound(finding, 'finding');
  return finding;
}

export const changeFinding = defineCommand({
  action: 'finding.updated',
  permission: 'findings:update',
  async run(
    ctx,
    input: { id: string; status?: FindingStatus; assigneeId?: string | null; ifMatch?: string },
  ): Promise<FindingDetailRow> {
    const access = orgAccess(ctx);
    // The row lock orders concurrent edits of one finding: each decides on the one before it.
    const finding = await requireFinding(ctx.tx, access.orgId, input.id);
    if (input.ifMatch !== undefined && !ifMatches(input.ifMatch, findingEtag(finding))) {
      throw new PreconditionFailedError(
        'The finding changed since you read it. Read it again and apply your change to what it is now.',
      );
    }
    const status = input.status ?? finding.status;
    const assigneeId = input.assigneeId === undefined ? finding.assigneeId : input.assigneeId;
    if (status === finding.status && assigneeId === finding.assigneeId) {
      ctx.unchanged();
      return finding;
    }
    // Dismissing a finding as a false positive is a judgement of its own, beyond triage.
    if (status === 'false_positive' && finding.status !== 'false_positive') {
      if (!access.permissions.has('findings:mark_false_positive')) {
        throw new PermissionDeniedError('findings:mark_false_positive');
      }
    }
    if (assigneeId !== null && assigneeId !== finding.assigneeId) {
      // Membership changes take the org's exclusive lock, which this command's shared one
      // excludes: the member cannot be removed between this check and the commit.
      const member = await findMember(ctx.tx, access.orgId, assigneeId);
      if (!member || member.status === 'removed') {
        throw new ValidationError(
          [
            {
              field: '/body/assigneeId',
              message: 'is not a member of this organization',
              reason: 'not_a_member',
            },
          ],
          'Findings can be assigned only to members of the organization.',
        );
      }
    }
    await updateFinding(ctx.tx, access.orgId, finding.id, { status, assigneeId });
    // The new assignee is told (notifications), unless they assigned it to themselves.
    if (assigneeId !== null && assigneeId !== finding.assigneeId && assigneeId !== access.userId) {
      await ctx.emit({
        type: 'finding.assigned',
        orgId: access.orgId,
        data: { findingId: finding.id, assigneeId, by: actorRef(ctx.actor) },
      });
    }
    const after = await lockFinding(ctx.tx, access.orgId, finding.id);
    if (status === 'resolved' && finding.status !== 'resolved' && after) {
      const data: FindingResolvedData = {
        orgId: access.orgId,
        finding: {
          id: after.id,
          applicationId: after.applicationId,
          ruleId: after.ruleId,
          title: after.title,
          severity: after.severity,
          status: 'resolved',
          location: after.location,
          fingerprint: after.fingerprint,
          tool: after.tool,
          firstSeenAt: after.firstSeenAt.toISOString(),
        },
        previousStatus: finding.status,
        resolvedBy: eventActor(ctx.actor),
        resolvedAt: (after.resolvedAt ?? new Date()).toISOString(),
      };
      await ctx.emit({ type: 'finding.resolved', orgId: access.orgId, data: { ...data } });
    }
    ctx.record({
      target: findingTarget(finding),
      before: { status: finding.status, assigneeId: finding.assigneeId },
      after: { status, assigneeId },
    });
    return after!;
  },
});

export const commentOnFinding = defineCommand({
  action: 'finding.commented',
  permission: 'findings:update',
  async run(ctx, input: { findingId: string; body: string }) {
    const access = orgAccess(ctx);
    const finding = await requireFinding(ctx.tx, access.orgId, input.findingId);
    const comment = await insertComment(ctx.tx, access.orgId, {
      findingId: finding.id,
      authorId: access.userId,
      body: input.body,
    });
    ctx.record({ target: findingTarget(finding), after: { commentId: comment.id } });
    return (await findComment(ctx.tx, access.orgId, comment.id))!;
  },
});

export const proposeRemediation = defineCommand({
  action: 'remediation.created',
  permission: 'remediations:create',
  async run(ctx, input: { findingId: string; summary: string; patch: string | null }) {
    const access = orgAccess(ctx);
    const finding = await requireFinding(ctx.tx, access.orgId, input.findingId);
    const id = await insertRemediation(ctx.tx, access.orgId, {
      findingId: finding.id,
      summary: input.summary,
      patch: input.patch,
      createdBy: access.userId,
    });
    ctx.record({
      target: { type: 'remediation', id, name: input.summary.slice(0, 200) },
      after: { findingId: finding.id, status: 'proposed' },
    });
    return (await findRemediation(ctx.tx, access.orgId, id))!;
  },
});

export const approveRemediation = defineCommand({
  action: 'remediation.approved',
  permission: 'remediations:approve',
  async run(ctx, input: { id: string }) {
    const access = orgAccess(ctx);
    const remediation = await findRemediation(ctx.tx, access.orgId, input.id);
    assertFound(remediation, 'remediation');
    // The conditional update is the guard: of two approvals at once, one finds it still proposed.
    if (!(await approveProposed(ctx.tx, access.orgId, remediation.id, access.userId))) {
      throw new ConflictError('This remediation is already approved.');
    }
    ctx.record({
      target: { type: 'remediation', id: remediation.id, name: remediation.summary.slice(0, 200) },
      before: { status: 'proposed' },
      after: { status: 'approved', findingId: remediation.findingId },
    });
    return (await findRemediation(ctx.tx, access.orgId, remediation.id))!;
  },
});
