import { orgAccess } from '../../platform/access/guard.ts';
import { defineCommand } from '../../platform/command.ts';
import { assertFound, ConflictError } from '../../platform/errors/app-error.ts';
import {
  type ApplicationRow,
  deleteApplication as deleteApplicationRow,
  findApplication,
  insertApplication,
  updateApplication as updateApplicationRow,
} from './applications.repository.ts';
import { emitScanOnCreation } from './applications.schedule.ts';

export interface ApplicationFields {
  name: string;
  repositoryUrl: string | null;
  description: string | null;
}

const nameTaken = () =>
  new ConflictError('An application with this name already exists in the organization.', 'conflict', {
    field: 'name',
  });

const snapshot = (a: ApplicationRow) => ({
  name: a.name,
  repositoryUrl: a.repositoryUrl,
  description: a.description,
});

export const createApplication = defineCommand({
  action: 'application.created',
  permission: 'applications:manage',
  constraints: { applications_org_name_key: nameTaken },
  async run(ctx, input: ApplicationFields): Promise<ApplicationRow> {
    const access = orgAccess(ctx);
    const row = await insertApplication(ctx.tx, access.orgId, { ...input, createdBy: access.userId });
    await emitScanOnCreation(ctx.tx, access.orgId, row);
    ctx.record({ target: { type: 'application', id: row.id, name: row.name }, after: snapshot(row) });
    return row;
  },
});

export const updateApplication = defineCommand({
  action: 'application.updated',
  permission: 'applications:manage',
  constraints: { applications_org_name_key: nameTaken },
  async run(ctx, input: { id: string } & Partial<ApplicationFields>): Promise<ApplicationRow> {
    const access = orgAccess(ctx);
    const before = await findApplication(ctx.tx, access.orgId, input.id, true);
    assertFound(before, 'application');
    const { id, ...fields } = input;
    const changes = Object.fromEntries(
      Object.entries(fields).filter(
        ([k, v]) => v !== undefined && v !== before[k as keyof ApplicationFields],
      ),
    ) as Partial<ApplicationFields>;
    if (Object.keys(changes).length === 0) {
      ctx.unchanged();
      return before;
    }
    const after = await updateApplicationRow(ctx.tx, access.orgId, id, changes);
    ctx.record({
      target: { type: 'application', id, name: after.name },
      before: Object.fromEntries(Object.keys(changes).map((k) => [k, before[k as keyof ApplicationFields]])),
      after: changes,
    });
    return after;
  },
});

export const deleteApplication = defineCommand({
  action: 'application.deleted',
  permission: 'applications:delete',
  async run(ctx, input: { id: string }): Promise<void> {
    const access = orgAccess(ctx);
    const before = await findApplication(ctx.tx, access.orgId, input.id, true);
    assertFound(before, 'application');
    await deleteApplicationRow(ctx.tx, access.orgId, input.id);
    ctx.record({
      target: { type: 'application', id: before.id, name: before.name },
      before: snapshot(before),
    });
  },
});
