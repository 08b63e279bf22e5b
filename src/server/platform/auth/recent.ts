import type { FastifyRequest } from 'fastify';
import { AppError, UnauthenticatedError } from '../errors/app-error.ts';

/**
 * Re-authentication ("sudo mode"): adding a sign-in credential or minting a lasting credential
 * (a personal API token) asks for a session that proved itself recently, so a stolen cookie alone
 * cannot plant a credential of its thief's. `POST /me/reauthenticate` renews the proof.
 */

/** How long a sign-in or re-authentication counts as recent. */
export const REAUTH_WINDOW_MS = 15 * 60_000;

export class ReauthenticationRequiredError extends AppError {
  constructor() {
    super(
      403,
      'reauthentication_required',
      'Re-authentication required',
      'Confirm it is you first: POST /api/v1/me/reauthenticate with your password (and a code when two-factor authentication is on), then try again.',
    );
  }
}

/** 403 `reauthentication_required` unless this request's session proved itself in the window. */
export async function assertRecentlyAuthenticated(request: FastifyRequest): Promise<void> {
  const session = request.session;
  // The routes asking for this are session-only: a bearer request never gets here.
  if (!session) throw new UnauthenticatedError();
  if (!(await request.server.gatehouse.sessions.provenWithin(session.session.id, REAUTH_WINDOW_MS))) {
    throw new ReauthenticationRequiredError();
  }
}
