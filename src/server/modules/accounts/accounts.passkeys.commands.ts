import { defineCommand } from '../../platform/command.ts';
import { ConflictError, NotFoundError, UnauthenticatedError } from '../../platform/errors/app-error.ts';
import { requireUser } from './accounts.commands.ts';
import { mailSecurityNotice } from './accounts.notices.ts';
import {
  countPasskeys,
  deletePasskeyRow,
  insertPasskey,
  MAX_PASSKEYS_PER_USER,
  type NewPasskey,
  type PasskeyView,
  renamePasskeyRow,
} from './accounts.passkeys.ts';
import { lockUser } from './accounts.repository.ts';

/** The signed-in user's own passkeys: added after a verified registration, renamed, removed. */

/** A passkey as the audit trail names it: never its key or credential id. */
const passkeyTarget = (p: PasskeyView) => ({ type: 'passkey', id: p.id, name: p.name });

export const addPasskey = defineCommand({
  action: 'user.passkey_added',
  constraints: {
    // The unique credential id decides: the same authenticator's credential is registered once.
    passkeys_credential_id_key: () =>
      new ConflictError('This passkey is already registered.', 'passkey_exists'),
  },
  async run(ctx, input: NewPasskey) {
    const userId = requireUser(ctx.actor);
    // Counted under the user's row lock, so parallel registrations cannot pass the limit together.
    const user = await lockUser(ctx.tx, userId);
    if (!user) throw new UnauthenticatedError();
    if ((await countPasskeys(ctx.tx, userId)) >= MAX_PASSKEYS_PER_USER) {
      throw new ConflictError(
        `An account may have at most ${MAX_PASSKEYS_PER_USER} passkeys. Remove one first.`,
        'passkey_limit',
        { limit: MAX_PASSKEYS_PER_USER },
      );
    }
    const passkey = await insertPasskey(ctx.tx, { ...input, userId });
    await mailSecurityNotice(ctx, user, 'passkey_added', passkey.name);
    ctx.record({
      target: passkeyTarget(passkey),
      after: {
        name: passkey.name,
        aaguid: input.aaguid,
        deviceType: input.deviceType,
        backedUp: input.backedUp,
      },
    });
    return passkey;
  },
});

export const renamePasskey = defineCommand({
  action: 'user.passkey_renamed',
  async run(ctx, input: { id: string; name: string }) {
    const userId = requireUser(ctx.actor);
    // Another user's passkey answers as unknown, like one that does not exist.
    const renamed = await renamePasskeyRow(ctx.tx, userId, input.id, input.name);
    if (!renamed) throw new NotFoundError('passkey');
    if (renamed.before === input.name) {
      ctx.unchanged();
      return renamed.after;
    }
    ctx.record({
      target: passkeyTarget(renamed.after),
      before: { name: renamed.before },
      after: { name: renamed.after.name },
    });
    return renamed.after;
  },
});

export const removePasskey = defineCommand({
  action: 'user.passkey_removed',
  async run(ctx, input: { id: string }) {
    const userId = requireUser(ctx.actor);
    // Under the user's row lock, like turning TOTP off: whether the account keeps a way to meet
    // an organization's require-2FA is decided by one of them at a time.
    const user = await lockUser(ctx.tx, userId);
    if (!user) throw new UnauthenticatedError();
    const removed = await deletePasskeyRow(ctx.tx, userId, input.id);
    if (!removed) throw new NotFoundError('passkey');
    await mailSecurityNotice(ctx, user, 'passkey_removed', removed.name);
    ctx.record({ target: passkeyTarget(removed), before: { name: removed.name } });
  },
});
