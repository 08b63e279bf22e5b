import { actorRef } from '../../platform/actor.ts';
import type { CommandContext } from '../../platform/command.ts';

/**
 * Someone was given a privileged role: every owner is told ("promotion to Admin or Owner raises
 * an alert"), so a compromised admin account cannot quietly raise another. Emitted as the
 * internal event `member.promoted` in the command's transaction; the notifications subscriber
 * turns it into a `promoted_to_admin` notification for each owner (inbox and email, as each
 * owner's preferences say), once the change commits.
 */
export async function alertOwnersOfPromotion(
  ctx: Pick<CommandContext, 'tx' | 'actor' | 'emit' | 'services'>,
  org: { orgId: string; orgName: string },
  who: string,
  roleName: string,
): Promise<void> {
  // The worker is woken once the command commits.
  await ctx.emit({
    type: 'member.promoted',
    orgId: org.orgId,
    data: { who, roleName, by: actorRef(ctx.actor) },
  });
}
