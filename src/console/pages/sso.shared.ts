import { queryOptions } from '@tanstack/react-query';
import type {
  OidcConnectionView,
  SamlConnectionView,
  SsoGroupMappingView,
  SsoSettingsView,
  SsoTestResult,
} from '../../contracts/sso.ts';
import { ApiError, api, type Page } from '../api.ts';

/** What the SSO page's sections read, shared by them (one cache entry each). */

export const ssoSettingsQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['sso', orgId, 'settings'],
    queryFn: () => api<SsoSettingsView>('GET', `/orgs/${orgId}/sso`),
  });

/** A connection, or null while none is connected (the API answers 404). */
const orNone = async <T>(read: Promise<T>): Promise<T | null> => {
  try {
    return await read;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && err.code === 'not_found') return null;
    throw err;
  }
};

export const oidcQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['sso', orgId, 'oidc'],
    queryFn: () => orNone(api<OidcConnectionView>('GET', `/orgs/${orgId}/sso/oidc`)),
  });

export const samlQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['sso', orgId, 'saml'],
    queryFn: () => orNone(api<SamlConnectionView>('GET', `/orgs/${orgId}/sso/saml`)),
  });

export const groupMappingsQuery = (orgId: string) =>
  queryOptions({
    queryKey: ['sso', orgId, 'group-mappings'],
    queryFn: () => api<Page<SsoGroupMappingView>>('GET', `/orgs/${orgId}/sso/group-mappings`),
  });

/** Every SSO read of the org: a connection changes the settings' protocol and login URL too. */
export const ssoKey = (orgId: string) => ['sso', orgId];

/** Lines (or commas, spaces) of a text area as a list, blanks dropped. */
export const entriesOf = (text: string) =>
  text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');

/**
 * The test sign-in's outcome from the page's fragment (`#test=<base64url JSON>`), or null when
 * there is none or it is not one (a hand-edited link): never trusted beyond being shown as text.
 */
export function testResultOf(hash: string): SsoTestResult | null {
  const encoded = new URLSearchParams(hash.replace(/^#/, '')).get('test');
  if (!encoded || !/^[A-Za-z0-9_-]+={0,2}$/.test(encoded)) return null;
  try {
    const binary = atob(encoded.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (!value || typeof value !== 'object') return null;
    const r = value as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' ? v : null);
    if (r.ok === true) {
      return {
        ok: true,
        protocol: r.protocol === 'saml' ? 'saml' : 'oidc',
        subject: text(r.subject) ?? '',
        email: text(r.email),
        emailVerified: r.emailVerified === true,
        name: text(r.name),
        groups: Array.isArray(r.groups) ? r.groups.filter((g): g is string => typeof g === 'string') : [],
      };
    }
    if (r.ok === false) return { ok: false, code: text(r.code) ?? 'sso_failed', reason: text(r.reason) };
    return null;
  } catch {
    return null;
  }
}

/** Days from now until `iso` (negative once past). */
export const daysUntil = (iso: string, now = Date.now()) =>
  Math.floor((new Date(iso).getTime() - now) / 86_400_000);

/** A certificate expiring within this many days is flagged. */
export const CERTIFICATE_WARNING_DAYS = 30;
