import type { FastifyInstance } from 'fastify';
import { confirmSignedInPassword } from './accounts.auth.ts';
import { passkeyRoutes } from './accounts.passkeys.routes.ts';
import { purgeChallenges } from './accounts.passkeys.ts';
import { recoveryRoutes } from './accounts.recovery.routes.ts';
import { accountsRoutes, User } from './accounts.routes.ts';
import { LoginThrottle } from './accounts.throttle.ts';
import { twoFactorRoutes } from './accounts.two-factor.routes.ts';
import type { TwoFactorPolicy } from './accounts.two-factor.ts';

export { clearSessionCookie, signInCookies } from './accounts.auth.ts';
export { eraseAccount, findAccountDates, listPasskeyMetadata } from './accounts.lifecycle.repository.ts';
export { mailSecurityNotice, NOTICE_SUBJECT_PREFIX, type SecurityNotice } from './accounts.notices.ts';
export { actorMeetsTwoFactor } from './accounts.reauth.ts';
export { markEmailVerified } from './accounts.recovery.repository.ts';
export {
  findUserByEmail,
  findUserById,
  insertUser,
  listAllUsers,
  listUserSessions,
  lockUser,
  lockUserByEmail,
  type OperatorUserRow,
  setUserDisabled,
  updateUserProfile,
} from './accounts.repository.ts';
export { forgetDevices, trustDevice } from './accounts.throttle.ts';
export {
  consumeSecondFactor,
  InvalidSecondFactorError,
  requireSecondFactor,
  resetTwoFactor,
  type SecondFactor,
  type SecondFactorMethod,
  SecondFactorRequiredError,
  type TwoFactorPolicy,
} from './accounts.two-factor.ts';

export interface AccountsOptions {
  /**
   * The organizations that hold a user to 2FA (the organizations module's rule, handed in by the
   * app: that module depends on this one).
   */
  orgsRequiringTwoFactor: TwoFactorPolicy;
}

/**
 * Accounts: sign-up, sign-in (password with TOTP 2FA, or passkey), sessions, passkeys, account
 * recovery and the signed-in user's own profile.
 */
export async function accountsModule(app: FastifyInstance, options: AccountsOptions): Promise<void> {
  const { database, config } = app.gatehouse;
  const throttle = new LoginThrottle(database.db, config.loginThrottle);
  app.gatehouse.confirmPassword = (request, password) => confirmSignedInPassword(request, throttle, password);
  app.addSchema(User);
  accountsRoutes(app, throttle);
  passkeyRoutes(app, throttle);
  recoveryRoutes(app, throttle);
  twoFactorRoutes(app, throttle, options.orgsRequiringTwoFactor);

  const purge = setInterval(() => {
    throttle.purge().catch((err) => app.log.error({ err }, 'login throttle housekeeping failed'));
    purgeChallenges(database.db).catch((err) =>
      app.log.error({ err }, 'passkey challenge housekeeping failed'),
    );
  }, 10 * 60_000);
  purge.unref();
  app.addHook('onClose', async () => clearInterval(purge));
}
