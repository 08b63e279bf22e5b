import { SCAN_MODULES } from '../../../contracts/scans.ts';
import { orgAccess } from '../../platform/access/guard.ts';
import { type CommandContext, defineCommand } from '../../platform/command.ts';
import { assertFound, ConflictError, ValidationError } from '../../platform/errors/app-error.ts';
import { lockOrgApplications } from '../applications/index.ts';
import {
  deletePolicy,
  insertPolicy,
  lockPolicy,
  type PolicyRow,
  type PolicyValues,
  updatePolicy,
} from './policies.repository.ts';

/** Scan modules a policy may be limited to (none: every module). */
/** A policy names the modules a scan may run: the scans' own list. */
export const POLICY_MODULES = SCAN_MODULES;

const nameTaken = () =>
  new ConflictError('Another policy of this organization has this name.', 'conflict', { field: 'name' });

const policyTarget = (p: PolicyRow) => ({ type: 'policy', id: p.id, name: p.name });

const snapshot = (p: PolicyRow | PolicyValues) => ({
  name: p.name,
  description: p.description,
  failOn: p.failOn,
  modules: p.modules,
  applicationIds: p.applicationIds,
});

/** Modules in catalog order, once each. */
const canonicalModules = (modules: readonly string[]) => POLICY_MODULES.filter((m) => modules.includes(m));

/**
 * The ids once each, in the order given, every one an application of this org (held until
 * commit) or one the policy already names: anything else is a 400 naming its index, whether it
 * does not exist or is another org's (which is never told apart). A policy keeps the id of an
 * application deleted since (it then applies to none of the others, as before; dropping the id
 * could leave the list empty, which means every application), so sending back the list just
 * read is always accepted.
 */
async function checkedApplications(
  ctx: CommandContext,
  ids: readonly string[],
  kept: readonly string[] = [],
): Promise<string[]> {
  const unique = [...new Set(ids.map((id) => id.toLowerCase()))];
  const found = await lockOrgApplications(ctx.tx, orgAccess(ctx).orgId, unique);
  const errors = ids
    .map((id, i) => ({ id: id.toLowerCase(), i }))
    .filter(({ id }) => !found.has(id) && !kept.includes(id))
    .map(({ i }) => ({
      field: `/body/applicationIds/${i}`,
      message: 'is not an application of this organization',
    }));
  if (errors.length > 0) throw new ValidationError(errors);
  return unique;
}

const constraints = { policies_org_name_key: nameTaken };

export const createPolicy = defineCommand({
  action: 'policy.created',
  permission: 'policies:manage',
  constraints,
  async run(ctx, input: PolicyValues) {
    const { orgId } = orgAccess(ctx);
    const values: PolicyValues = {
      ...input,
      modules: canonicalModules(input.modules),
      applicationIds: await checkedApplications(ctx, input.applicationIds),
    };
    const createdBy = ctx.actor.type === 'user' ? ctx.actor.userId : null;
    const policy = await insertPolicy(ctx.tx, orgId, createdBy, values);
    ctx.record({ target: policyTarget(policy), after: snapshot(policy) });
    return policy;
  },
});

export const editPolicy = defineCommand({
  action: 'policy.updated',
  permission: 'policies:manage',
  constraints,
  async run(ctx, input: { id: string } & Partial<PolicyValues>) {
    const { orgId } = orgAccess(ctx);
    const before = await lockPolicy(ctx.tx, orgId, input.id);
    assertFound(before, 'policy');
    const changes: Partial<PolicyValues> = {};
    if (input.name !== undefined && input.name !== before.name) changes.name = input.name;
    if (input.description !== undefined && input.description !== before.description) {
      changes.description = input.description;
    }
    if (input.failOn !== undefined && input.failOn !== before.failOn) changes.failOn = input.failOn;
    if (input.modules !== undefined) {
      const modules = canonicalModules(input.modules);
      if (modules.join() !== before.modules.join()) changes.modules = modules;
    }
    if (input.applicationIds !== undefined) {
      const ids = await checkedApplications(ctx, input.applicationIds, before.applicationIds);
      if (ids.join() !== before.applicationIds.join()) changes.applicationIds = ids;
    }
    if (Object.keys(changes).length === 0) {
      ctx.unchanged();
      return before;
    }
    const after = await updatePolicy(ctx.tx, orgId, input.id, changes);
    ctx.record({ target: policyTarget(after), before: snapshot(before), after: snapshot(after) });
    return after;
  },
});

export const removePolicy = defineCommand({
  action: 'policy.deleted',
  permission: 'policies:manage',
  async run(ctx, input: { id: string }) {
    const { orgId } = orgAccess(ctx);
    const policy = await lockPolicy(ctx.tx, orgId, input.id);
    assertFound(policy, 'policy');
    await deletePolicy(ctx.tx, orgId, input.id);
    ctx.record({ target: policyTarget(policy), before: snapshot(policy) });
  },
});
