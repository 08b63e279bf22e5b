import { randomUUID } from 'node:crypto';
import { orgAccess } from '../../platform/access/guard.ts';
import { defineCommand } from '../../platform/command.ts';
import { assertFound, ConflictError, ValidationError } from '../../platform/errors/app-error.ts';
import {
  countIntegrations,
  deleteIntegration,
  holdIntegrations,
  type IntegrationConfig,
  type IntegrationRow,
  type IntegrationValues,
  insertIntegration,
  lockIntegration,
  updateIntegration,
} from './integrations.repository.ts';

/** Integrations one organization may have. */
export const INTEGRATIONS_PER_ORG = 100;

/** Where an integration's secret is sealed: the context names the org and the row, so it opens nowhere else. */
export const secretContext = (orgId: string, id: string) => `integrations.secret:${orgId}:${id}`;

export class IntegrationLimitError extends ConflictError {
  constructor() {
    super(
      `An organization may have ${INTEGRATIONS_PER_ORG} integrations. Disconnect one you no longer use.`,
      'integration_limit',
      { limit: INTEGRATIONS_PER_ORG },
    );
  }
}

const nameTaken = () =>
  new ConflictError('An integration of this organization already has this name.', 'conflict', {
    reason: 'integration_name_taken',
  });

const target = (i: Pick<IntegrationRow, 'id' | 'name'>) => ({ type: 'integration', id: i.id, name: i.name });

/** What the audit trail keeps of an integration: everything but the secret (the config holds none). */
const snapshot = (i: Pick<IntegrationRow, 'kind' | 'provider' | 'name' | 'config'>) => ({
  kind: i.kind,
  provider: i.provider,
  name: i.name,
  config: i.config,
});

export interface NewIntegration extends Omit<IntegrationValues, 'secret'> {
  /** In the clear; sealed here, for the new row. */
  secret: string | null;
}

export const createIntegration = defineCommand({
  action: 'integration.created',
  permission: 'integrations:manage',
  constraints: { integrations_org_name_key: nameTaken },
  async run(ctx, input: NewIntegration): Promise<IntegrationRow> {
    const { orgId, userId } = orgAccess(ctx);
    await holdIntegrations(ctx.tx, orgId);
    if ((await countIntegrations(ctx.tx, orgId)) >= INTEGRATIONS_PER_ORG) throw new IntegrationLimitError();
    const id = randomUUID();
    const row = await insertIntegration(ctx.tx, orgId, {
      ...input,
      id,
      secret:
        input.secret === null ? null : ctx.services.secrets.seal(input.secret, secretContext(orgId, id)),
      createdBy: userId,
    });
    ctx.record({ target: target(row), after: { ...snapshot(row), secretSet: row.hasSecret } });
    return row;
  },
});

export interface IntegrationChanges {
  id: string;
  name?: string;
  config?: IntegrationConfig;
  /** A new secret in the clear, or null to drop the stored one; omitted: kept. */
  secret?: string | null;
}

/**
 * A stored secret is only ever sent to the address it was given with: moving `baseUrl` elsewhere
 * needs the secret again (or `secret: null`), so someone who may edit integrations but never saw
 * the secret cannot point one at a server of theirs and have the test hand the secret over.
 */
export const editIntegration = defineCommand({
  action: 'integration.updated',
  permission: 'integrations:manage',
  constraints: { integrations_org_name_key: nameTaken },
  async run(ctx, input: IntegrationChanges): Promise<IntegrationRow> {
    const { orgId } = orgAccess(ctx);
    const { secrets } = ctx.services;
    const before = await lockIntegration(ctx.tx, orgId, input.id);
    assertFound(before, 'integration');
    const changes: Partial<Pick<IntegrationValues, 'name' | 'config' | 'secret'>> = {};
    if (input.name !== undefined && input.name !== before.name) changes.name = input.name;
    if (input.config !== undefined && JSON.stringify(input.config) !== JSON.stringify(before.config)) {
      changes.config = input.config;
    }
    const moved = changes.config !== undefined && changes.config.baseUrl !== before.config.baseUrl;
    if (moved && before.secret !== null && input.secret === undefined) {
      throw new ValidationError(
        [{ field: '/body/secret', message: 'is required when the base URL changes', reason: 'required' }],
        'Give the secret again (or null to drop it): the stored one is only sent to the base URL it was given for.',
      );
    }
    let secretChange: 'set' | 'removed' | undefined;
    if (input.secret === null && before.secret !== null) {
      changes.secret = null;
      secretChange = 'removed';
    } else if (
      typeof input.secret === 'string' &&
      (before.secret === null ||
        secrets.open(before.secret, secretContext(orgId, before.id)) !== input.secret)
    ) {
      changes.secret = secrets.seal(input.secret, secretContext(orgId, before.id));
      secretChange = 'set';
    }
    if (Object.keys(changes).length === 0) {
      ctx.unchanged();
      return before;
    }
    // New settings or a new secret: the last test said nothing about them. A new name alone keeps it.
    const untested = changes.config !== undefined || changes.secret !== undefined;
    const after = await updateIntegration(ctx.tx, orgId, before.id, changes, untested);
    ctx.record({
      target: target(after),
      before: snapshot(before),
      after: {
        ...snapshot(after),
        ...(secretChange === 'set' ? { secretChanged: true } : {}),
        ...(secretChange === 'removed' ? { secretRemoved: true } : {}),
      },
    });
    return after;
  },
});

export const removeIntegration = defineCommand({
  action: 'integration.deleted',
  permission: 'integrations:manage',
  async run(ctx, input: { id: string }): Promise<void> {
    const { orgId } = orgAccess(ctx);
    const before = await lockIntegration(ctx.tx, orgId, input.id);
    assertFound(before, 'integration');
    await deleteIntegration(ctx.tx, orgId, before.id);
    ctx.record({ target: target(before), before: { ...snapshot(before), secretSet: before.hasSecret } });
  },
});
