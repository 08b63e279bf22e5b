import { createHmac, randomBytes } from 'node:crypto';

/**
 * Webhook signatures, as receivers check them:
 *
 * - Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`): `v1,<base64 of
 *   HMAC-SHA256("<id>.<timestamp>.<body>")>`, keyed with the base64-decoded part of the secret
 *   after `whsec_`. During a rotation both secrets sign: the header carries both, space-separated.
 * - `X-Gatehouse-Signature: sha256=<hex HMAC-SHA256 of the body>`, keyed with the secret exactly
 *   as shown (the whole `whsec_…` text), the convention of GitHub-style receivers. During a
 *   rotation it carries both signatures too, space-separated.
 */

export const SECRET_PREFIX = 'whsec_';
/** 32 random bytes (the contract asks for at least 24). */
const SECRET_BYTES = 32;

/** A new signing secret: `whsec_` and the base64 of 32 random bytes. */
export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

/** The headers one delivery attempt carries (`secrets`: the current one first). */
export function signatureHeaders(
  secrets: readonly string[],
  message: { id: string; timestamp: number; body: string },
): Record<string, string> {
  const signed = `${message.id}.${message.timestamp}.${message.body}`;
  return {
    'webhook-id': message.id,
    'webhook-timestamp': String(message.timestamp),
    'webhook-signature': secrets
      .map((s) => `v1,${createHmac('sha256', keyOf(s)).update(signed).digest('base64')}`)
      .join(' '),
    'x-gatehouse-signature': secrets
      .map((s) => `sha256=${createHmac('sha256', s).update(message.body).digest('hex')}`)
      .join(' '),
  };
}
