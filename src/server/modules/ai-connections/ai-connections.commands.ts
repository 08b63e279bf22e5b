import { randomUUID } from 'node:crypto';
import type { AiProvider, AiPurpose } from '../../../contracts/integrations.ts';
import { orgAccess } from '../../platform/access/guard.ts';
import { defineCommand } from '../../platform/command.ts';
import { NotFoundError, ValidationError } from '../../platform/errors/app-error.ts';
import {
  type AiConnectionRow,
  deleteAiConnection,
  holdAiConnection,
  lockAiConnection,
  saveAiConnection,
} from './ai-connections.repository.ts';

/** Where a connection's API key is sealed: the context names the org and the row, so it opens nowhere else. */
export const apiKeyContext = (orgId: string, id: string) => `ai_connections.api_key:${orgId}:${id}`;

/** Keys shorter than this get no hint: four characters of a short key would give too much away. */
const HINT_MIN_LENGTH = 16;

/** The last four characters of a long key, for telling keys apart; null for a short one. */
export const apiKeyHint = (key: string) => (key.length >= HINT_MIN_LENGTH ? key.slice(-4) : null);

const PURPOSE_NAMES: Record<AiPurpose, string> = {
  remediator: 'AI remediator',
  validator: 'AI validator',
};

/** Named by its purpose, the one thing that stays when a connection is removed and made again. */
const target = (row: Pick<AiConnectionRow, 'purpose'>) => ({
  type: 'ai_connection',
  id: row.purpose,
  name: PURPOSE_NAMES[row.purpose],
});

/** What the audit trail keeps of a connection: its settings, never the key or any part of it. */
const snapshot = (c: Omit<AiConnectionInput, 'apiKey'>) => ({
  purpose: c.purpose,
  provider: c.provider,
  baseUrl: c.baseUrl,
  model: c.model,
  deployment: c.deployment,
  apiVersion: c.apiVersion,
});

export interface AiConnectionInput {
  purpose: AiPurpose;
  provider: AiProvider;
  /** Checked by the outbound guard and normalized (no trailing slash) by the route. */
  baseUrl: string;
  model: string;
  deployment: string | null;
  apiVersion: string | null;
  /** Omitted: the stored key is kept, if the provider and base URL are the ones it was given for. */
  apiKey?: string;
}

/**
 * The key a save or a test may use without being given one: the stored key, only while the
 * provider and base URL are the ones it was given with. A key is never sent anywhere its owner
 * did not send it: someone who may change the settings but never saw the key cannot point the
 * connection at a server of theirs and have Gatehouse hand the key over.
 */
export function mayKeepKey(
  stored: Pick<AiConnectionRow, 'provider' | 'baseUrl'> | undefined,
  next: Pick<AiConnectionInput, 'provider' | 'baseUrl'>,
): boolean {
  return stored !== undefined && stored.provider === next.provider && stored.baseUrl === next.baseUrl;
}

/** The refusal of a save or a test that needs a key and was given none. */
export const apiKeyRequired = (stored: boolean) =>
  new ValidationError(
    [
      {
        field: '/body/apiKey',
        message: stored ? 'is required when the provider or base URL changes' : 'is required',
        reason: 'required',
      },
    ],
    stored
      ? 'Give the API key again: the stored one is only sent to the provider and base URL it was given for.'
      : 'Give the API key.',
  );

export const saveConnection = defineCommand({
  action: 'ai_connection.updated',
  permission: 'settings:update',
  async run(ctx, input: AiConnectionInput): Promise<AiConnectionRow> {
    const { orgId, userId } = orgAccess(ctx);
    const { secrets } = ctx.services;
    await holdAiConnection(ctx.tx, orgId, input.purpose);
    const before = await lockAiConnection(ctx.tx, orgId, input.purpose);
    if (input.apiKey === undefined && !mayKeepKey(before, input)) throw apiKeyRequired(before !== undefined);
    const id = before?.id ?? randomUUID();
    const keyChanged =
      input.apiKey !== undefined &&
      (!before || secrets.open(before.apiKey, apiKeyContext(orgId, id)) !== input.apiKey);
    if (before && !keyChanged && JSON.stringify(snapshot(before)) === JSON.stringify(snapshot(input))) {
      ctx.unchanged();
      return before;
    }
    const saved = await saveAiConnection(
      ctx.tx,
      orgId,
      id,
      input.purpose,
      {
        provider: input.provider,
        baseUrl: input.baseUrl,
        model: input.model,
        deployment: input.deployment,
        apiVersion: input.apiVersion,
        apiKey: keyChanged ? secrets.seal(input.apiKey!, apiKeyContext(orgId, id)) : before!.apiKey,
        apiKeyHint: keyChanged ? apiKeyHint(input.apiKey!) : before!.apiKeyHint,
      },
      userId,
    );
    ctx.record({
      target: target(saved),
      before: before ? snapshot(before) : null,
      // Never the key, nor its hint: only that it was replaced.
      after: { ...snapshot(saved), ...(keyChanged ? { apiKeyChanged: true } : {}) },
    });
    return saved;
  },
});

export const removeConnection = defineCommand({
  action: 'ai_connection.deleted',
  permission: 'settings:update',
  async run(ctx, input: { purpose: AiPurpose }): Promise<void> {
    const { orgId } = orgAccess(ctx);
    await holdAiConnection(ctx.tx, orgId, input.purpose);
    const before = await lockAiConnection(ctx.tx, orgId, input.purpose);
    if (!before || !(await deleteAiConnection(ctx.tx, orgId, input.purpose))) {
      throw new NotFoundError('AI connection');
    }
    ctx.record({ target: target(before), before: snapshot(before) });
  },
});
