import type { CommandContext } from '../../platform/command.ts';
import { queueEmail } from '../../platform/mail/queue.ts';
import { changedBy, promotionAlert } from './members.mail.ts';
import { listOwnerEmails } from './members.repository.ts';

/**
 * Someone was given a privileged role: every owner is told by email ("promotion to Admin or Owner
 * raises an alert"), so a compromised admin account cannot quietly raise another. The emails are
 * outbox jobs of the change's own transaction, each in its owner's language.
 */
export async function alertOwnersOfPromotion(
  ctx: Pick<CommandContext, 'tx' | 'actor' | 'enqueue' | 'services'>,
  org: { orgId: string; orgName: string },
  who: string,
  roleName: string,
): Promise<void> {
  const owners = await listOwnerEmails(ctx.tx, org.orgId);
  for (const to of owners) {
    await queueEmail(ctx, to, (language) =>
      promotionAlert(language, { who, roleName, orgName: org.orgName, by: changedBy(ctx.actor, language) }),
    );
  }
}
