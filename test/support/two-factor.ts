import type { FastifyInstance } from 'fastify';
import { Secret, TOTP } from 'otpauth';
import { verifyEmailInDatabase } from './app.ts';
import { as, expectStatus } from './orgs.ts';

/** The code an authenticator app shows for `secret`, `steps` time steps from now (RFC 6238 defaults). */
export function totpCode(secret: string, steps = 0): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: Date.now() + steps * 30_000 });
}

/**
 * Waits for the next time step when less than `marginMs` of this one is left: a code computed for
 * the previous step just before a step ends would be two steps old when the server reads it, and
 * refused. Waiting out the few seconds is the real clock, not a fake one.
 */
export async function clearOfStepEnd(marginMs = 5_000): Promise<void> {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < marginMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

/**
 * Turns 2FA on for `who` through the API. The confirming code is the previous step's, so the
 * current step's and the next one's are still free for the test to sign in with.
 */
export async function enableTwoFactor(
  app: FastifyInstance,
  who: { cookie: string; userId: string },
): Promise<{ secret: string; otpauthUrl: string; recoveryCodes: string[] }> {
  // 2FA is added only to an account whose address is proven.
  await verifyEmailInDatabase(app, who.userId);
  const { secret, otpauthUrl } = expectStatus(await as(app, who).post('/api/v1/me/2fa/totp'), 200).json();
  await clearOfStepEnd();
  const confirmed = expectStatus(
    await as(app, who).post('/api/v1/me/2fa/totp/confirm', { code: totpCode(secret, -1) }),
    200,
  ).json();
  return { secret, otpauthUrl, recoveryCodes: confirmed.recoveryCodes };
}
