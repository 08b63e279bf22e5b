/**
 * Single sign-on as the API sends it (src/server/modules/sso/sso.routes.ts is the authority; these
 * follow its schemas). Times are RFC 3339 strings.
 */

export type SsoProtocol = 'oidc' | 'saml';

/** Who must sign in through the IdP: `coexist` (anyone, any way), `preferred`, `enforced`. */
export const SSO_ENFORCEMENTS = ['coexist', 'preferred', 'enforced'] as const;
export type SsoEnforcement = (typeof SSO_ENFORCEMENTS)[number];

/** GET / PATCH …/sso */
export interface SsoSettingsView {
  enforcement: SsoEnforcement;
  jitProvisioning: boolean;
  /** The role provisioned members get when no group mapping matches (null: Viewer). */
  defaultRole: string | null;
  groupsAttribute: string | null;
  domains: string[];
  allowIdpInitiated: boolean;
  /** The connected identity provider's protocol (null: none connected). */
  protocol: SsoProtocol | null;
  /** Where the org's members start signing in through it (absolute, null: none connected). */
  loginUrl: string | null;
  /** What to give the identity provider, before any connection is saved. */
  serviceProvider: {
    oidcRedirectUri: string;
    spEntityId: string;
    acsUrl: string;
    metadataUrl: string;
    /** The SCIM 2.0 base URL to give the identity provider (with a SCIM token as its bearer). */
    scimBaseUrl: string;
  };
  updatedAt: string | null;
}

/** GET / PUT …/sso/oidc (the client secret is never sent back). */
export interface OidcConnectionView {
  issuer: string;
  clientId: string;
  clientSecretSet: boolean;
  scopes: string[];
  /** The redirect URI to register at the IdP. */
  redirectUri: string;
  updatedAt: string;
}

/** One of a SAML IdP's signing certificates. */
export interface SsoCertificateView {
  subject: string;
  notBefore: string;
  notAfter: string;
  fingerprintSha256: string;
}

/** GET / PUT …/sso/saml: the IdP, and this service provider's values to give it. */
export interface SamlConnectionView {
  idpEntityId: string;
  idpSsoUrl: string;
  idpMetadataUrl: string | null;
  certificates: SsoCertificateView[];
  spEntityId: string;
  acsUrl: string;
  metadataUrl: string;
  updatedAt: string;
}

/** GET / POST …/sso/group-mappings */
export interface SsoGroupMappingView {
  id: string;
  idpGroup: string;
  role: string;
  roleName: string;
  createdAt: string;
}

/**
 * A test sign-in's outcome, which the server hands back in the settings page's fragment
 * (`#test=<base64url JSON>`): what the IdP said about the person, or why it failed.
 */
export type SsoTestResult =
  | {
      ok: true;
      protocol: SsoProtocol;
      subject: string;
      email: string | null;
      emailVerified: boolean;
      name: string | null;
      groups: string[];
    }
  | { ok: false; code: string; reason: string | null };
