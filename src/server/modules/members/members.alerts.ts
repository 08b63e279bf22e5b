import { describeActor } from '../../platform/actor.ts';
import type { CommandContext } from '../../platform/command.ts';
import { quoted } from '../../platform/mail/mailer.ts';
import { listOwnerEmails } from './members.repository.ts';

/**
 * Someone was given a privileged role: every owner is told by email after commit ("promotion to
 * Admin or Owner raises an alert"), so a compromised admin account cannot quietly raise another.
 */
export async function alertOwnersOfPromotion(
  ctx: Pick<CommandContext, 'tx' | 'actor' | 'afterCommit' | 'services'>,
  org: { orgId: string; orgName: string },
  who: string,
  roleName: string,
): Promise<void> {
  const owners = await listOwnerEmails(ctx.tx, org.orgId);
  // A token's name is written by whoever made it: quoted and defanged like every name in an email.
  const by =
    ctx.actor.type === 'token' ? `the automation token ${quoted(ctx.actor.name)}` : describeActor(ctx.actor);
  ctx.afterCommit(() => {
    for (const to of owners) {
      ctx.services.mailer.dispatch({
        to,
        subject: `${who} is now ${quoted(roleName)} of ${quoted(org.orgName)}`,
        text: `${who} was given the ${quoted(roleName)} role in ${quoted(org.orgName)} by ${by}.\n\nIf you did not expect this, review the organization's members now.\n`,
      });
    }
  });
}
