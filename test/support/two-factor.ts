import type { FastifyInstance } from 'fastify';
import { Secret, TOTP } from 'otpauth';
import { as, expectStatus } from './orgs.ts';

/** The code an authenticator app shows for `secret`, `steps` time steps from now (RFC 6238 defaults). */
export function totpCode(secret: string, steps = 0): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: Date.now() + steps * 30_000 });
}

/**
 * Turns 2FA on for `who` through the API. The confirming code is the previous step's, so the
 * current step's and the next one's are still free for the test to sign in with.
 */
export async function enableTwoFactor(
  app: FastifyInstance,
  who: { cookie: string },
): Promise<{ secret: string; otpauthUrl: string; recoveryCodes: string[] }> {
  const { secret, otpauthUrl } = expectStatus(await as(app, who).post('/api/v1/me/2fa/totp'), 200).json();
  const confirmed = expectStatus(
    await as(app, who).post('/api/v1/me/2fa/totp/confirm', { code: totpCode(secret, -1) }),
    200,
  ).json();
  return { secret, otpauthUrl, recoveryCodes: confirmed.recoveryCodes };
}
