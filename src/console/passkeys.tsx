import { Alert, Text } from '@mantine/core';
import {
  browserSupportsWebAuthn,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  startAuthentication,
  startRegistration,
} from '@simplewebauthn/browser';
import type { TFunction } from 'i18next';
import { useTranslation } from 'react-i18next';
import type { PasskeyView } from '../contracts/wire.ts';
import { ApiError, api } from './api.ts';
import { ErrorText } from './problems.tsx';

/**
 * The browser's side of passkeys: the options from the server, the authenticator through
 * `navigator.credentials` (@simplewebauthn/browser), the answer back to the server. A refusal by
 * the browser or the person (cancelled, timed out, no authenticator) is a PasskeyBrowserError, put
 * in words by PasskeyErrorText; the server's refusals stay ApiErrors.
 */

export class PasskeyBrowserError extends Error {
  constructor(readonly reason: 'cancelled' | 'unsupported' | 'registered' | 'failed') {
    super(reason);
  }
}

function fromBrowser(err: unknown): never {
  if (err instanceof ApiError) throw err;
  if (!browserSupportsWebAuthn()) throw new PasskeyBrowserError('unsupported');
  const name = (err as { name?: string; cause?: { name?: string } } | null)?.name;
  const cause = (err as { cause?: { name?: string } } | null)?.cause?.name;
  // NotAllowedError: the person cancelled, the time ran out, or no passkey matched.
  if (name === 'NotAllowedError' || cause === 'NotAllowedError' || name === 'AbortError') {
    throw new PasskeyBrowserError('cancelled');
  }
  // InvalidStateError on creation: this authenticator already holds a passkey of the account.
  if (name === 'InvalidStateError' || cause === 'InvalidStateError')
    throw new PasskeyBrowserError('registered');
  throw new PasskeyBrowserError('failed');
}

/** Signs in with a passkey: any of this site's (discoverable) without an email, else that account's. */
export async function signInWithPasskey(email: string): Promise<unknown> {
  const address = email.trim();
  const optionsJSON = await api<PublicKeyCredentialRequestOptionsJSON>(
    'POST',
    '/auth/passkey/options',
    address ? { email: address } : {},
  );
  const response = await startAuthentication({ optionsJSON }).catch(fromBrowser);
  return api('POST', '/auth/passkey', { response });
}

/** Creates a passkey on this device (or a phone, a security key) and registers it under `name`. */
export async function addPasskey(name: string): Promise<PasskeyView> {
  const optionsJSON = await api<PublicKeyCredentialCreationOptionsJSON>('POST', '/me/passkeys/options');
  const response = await startRegistration({ optionsJSON }).catch(fromBrowser);
  return api<PasskeyView>('POST', '/me/passkeys', { name, response });
}

function browserProblem(t: TFunction, reason: PasskeyBrowserError['reason']) {
  return { title: t(`passkeyBrowser_${reason}_title`), message: t(`passkeyBrowser_${reason}`) };
}

/** A passkey step that failed, in words: the browser's refusal or the server's problem. */
export function PasskeyErrorText({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (!(error instanceof PasskeyBrowserError)) return <ErrorText error={error} />;
  const problem = browserProblem(t, error.reason);
  return (
    <Alert color="red" role="alert" title={problem.title}>
      <Text size="sm">{problem.message}</Text>
    </Alert>
  );
}
