import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyEmailInDatabase } from '../support/app.ts';
import { type ConsoleHarness, HAS_CHROMIUM, openConsole } from '../support/console.ts';
import { type OidcIdp, startOidcIdp } from '../support/oidc-idp.ts';
import { addMember, as, createOrg, expectStatus } from '../support/orgs.ts';
import { SAML_TEST_KEYS } from '../support/saml-idp.ts';

/**
 * Settings → Single sign-on and "Sign in with SSO" in a real browser, against a real OpenID
 * Provider (oidc-provider on loopback, its own sign-in page clicked through): an owner connects
 * OIDC, sets the policy and a group mapping, runs a test sign-in and reads what the IdP sent; a
 * new person signs in with SSO from the sign-in page by their email's domain and lands in the
 * console with the mapped role; a refused sign-in is explained on the sign-in page; enforcing asks
 * the owner to sign in with SSO first, and then a member signed in with a password is sent to the
 * IdP from wherever they are. A Developer is not offered the page; SAML and Spanish too.
 * Axe-checked throughout. The console is served at PUBLIC_URL (http://localhost:<port>), so the
 * redirect URI the IdP holds is the one the server sends.
 */
describe.skipIf(!HAS_CHROMIUM)('Settings → Single sign-on in a browser', () => {
  let h: ConsoleHarness;
  let idp: OidcIdp;
  const SECRET = 'idp-client-secret-1234567890';

  beforeAll(async () => {
    h = await openConsole({ localhost: true, overrides: { outbound: { allowlist: ['127.0.0.1/32'] } } });
    idp = await startOidcIdp({ clients: [] });
  }, 180_000);
  afterAll(async () => {
    await idp?.close();
    await h?.close();
  });

  const poll = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000 });
  const ssoPage = (orgId: string) => `${h.base}/orgs/${orgId}/settings/sso`;
  const notified = (page: Page, text: string) =>
    poll(() => page.getByTestId('notifications').textContent()).toContain(text);

  /** An org, its client registered at the IdP with the org's redirect URI, and an email domain of its own. */
  async function orgWithClient(name: string) {
    const org = await createOrg(h.t.app, { name, plan: 'pro' });
    const redirectUri = `${h.base}/sso/${org.slug}/oidc/callback`;
    const clientId = `gh-${org.slug}`;
    await idp.addClient({ client_id: clientId, client_secret: SECRET, redirect_uris: [redirectUri] });
    return { ...org, clientId, redirectUri, domain: `sso-${randomBytes(4).toString('hex')}.test` };
  }

  /** Forgets the IdP's own session in this browser, so that it asks who signs in next time. */
  const forgetIdpSession = (page: Page) => page.context().clearCookies({ domain: '127.0.0.1' });
  const atSsoPage = (orgId: string) => (url: URL) => url.href.startsWith(ssoPage(orgId));

  /** At the IdP's own page: signs in as `email`, and waits to be back at the console. */
  async function signInAtIdp(page: Page, email: string) {
    await page.waitForURL((url) => url.href.startsWith(`${idp.issuer}/interaction/`));
    await page.getByLabel('Email').fill(email);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.href.startsWith(h.base));
  }

  it('connects OIDC, maps a group, tests the sign-in; a newcomer signs in with SSO by their domain', {
    timeout: 300_000,
  }, async () => {
    const org = await orgWithClient('Single Sign Co');
    const member = (label: string) => `${label}@${org.domain}`;
    idp.setAccount({
      sub: `tess-${org.slug}`,
      email: member('tess'),
      email_verified: true,
      name: 'Tess Tester',
      groups: ['engineering', 'everyone'],
    });
    idp.setAccount({
      sub: `nia-${org.slug}`,
      email: member('nia'),
      email_verified: true,
      name: 'Nia Newbie',
      groups: ['everyone', 'engineering'],
    });
    idp.setAccount({ sub: `una-${org.slug}`, email: member('una'), email_verified: false, name: 'Una' });

    const page = await h.pageAs(org.owner);
    await page.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    const nav = page.getByRole('navigation', { name: 'Settings' });
    await nav.getByRole('link', { name: 'Single sign-on' }).click();
    await poll(() => page.getByRole('heading', { name: 'Single sign-on (SSO)', level: 1 }).count()).toBe(1);
    await poll(() => page.getByTestId('sso-idp-state').textContent()).toBe(
      'No identity provider is connected yet.',
    );
    // The redirect URI to register is there before connecting (the IdP's app is usually made first).
    expect(await page.getByTestId('sso-redirect-uri').textContent()).toBe(org.redirectUri);
    await h.expectAccessible(page, 'sso page, nothing connected');

    // An issuer nothing answers at: refused with the reason, in words, under the form.
    const idpSection = page.getByRole('region', { name: 'Identity provider' });
    await idpSection.getByRole('textbox', { name: /^Issuer URL/ }).fill('http://127.0.0.1:1');
    await idpSection.getByRole('textbox', { name: /^Client ID/ }).fill(org.clientId);
    await idpSection.getByLabel(/^Client secret/).fill(SECRET);
    await idpSection.getByRole('button', { name: 'Connect' }).click();
    const refusal = idpSection.getByRole('alert');
    await poll(() => refusal.textContent()).toContain('The identity provider could not be reached');
    expect(await refusal.textContent()).toContain('No connection could be made.');
    await poll(() => idpSection.getByTestId('sso-idp-detail').count()).toBe(1);
    await h.expectAccessible(page, 'sso page, an unreachable issuer');

    await idpSection.getByRole('textbox', { name: /^Issuer URL/ }).fill(idp.issuer);
    await idpSection.getByRole('button', { name: 'Connect' }).click();
    await notified(page, 'OIDC identity provider connected.');
    await poll(() => page.getByTestId('sso-idp-state').textContent()).toBe(
      'Connected with OpenID Connect (OIDC).',
    );
    expect(await idpSection.getByText('Stored', { exact: true }).count()).toBe(1);
    expect(await page.getByTestId('sso-redirect-uri').textContent()).toBe(org.redirectUri);
    // The secret went to the server, and never comes back to the page.
    const owner = as(h.t.app, org.owner);
    const oidc = expectStatus(await owner.get(`/api/v1/orgs/${org.orgId}/sso/oidc`), 200).json();
    expect(oidc).toMatchObject({ issuer: idp.issuer, clientId: org.clientId, clientSecretSet: true });
    expect(await idpSection.getByLabel(/^Client secret/).inputValue()).toBe('');
    expect(await page.content()).not.toContain(SECRET);

    // The policy: just-in-time provisioning, the groups claim, the org's email domain.
    const policy = page.getByRole('region', { name: 'Policy' });
    await policy.getByRole('switch', { name: /just-in-time provisioning/ }).check({ force: true });
    await policy.getByRole('textbox', { name: 'Groups claim or attribute' }).fill('groups');
    await policy.getByRole('textbox', { name: 'Email domains' }).fill(`@${org.domain.toUpperCase()}`);
    await policy.getByRole('button', { name: 'Save policy' }).click();
    await notified(page, 'Single sign-on policy saved.');
    expect(expectStatus(await owner.get(`/api/v1/orgs/${org.orgId}/sso`), 200).json()).toMatchObject({
      enforcement: 'coexist',
      jitProvisioning: true,
      groupsAttribute: 'groups',
      domains: [org.domain],
      protocol: 'oidc',
    });

    // A group mapping: engineering → Developer (Owner is not offered).
    const mappings = page.getByRole('region', { name: 'Group mappings' });
    await poll(() => mappings.getByText('No group mappings yet.').count()).toBe(1);
    await mappings.getByRole('textbox', { name: /^Identity provider group/ }).fill('engineering');
    await mappings.getByRole('combobox', { name: /^Role/ }).click();
    expect(await page.getByRole('option', { name: 'Owner' }).count()).toBe(0);
    await page.getByRole('option', { name: 'Developer' }).click();
    await mappings.getByRole('button', { name: 'Add mapping' }).click();
    await notified(page, 'Group “engineering” mapped.');
    const row = mappings.getByRole('row').filter({ hasText: 'engineering' });
    await poll(() => row.textContent()).toContain('Developer');
    await h.expectAccessible(page, 'sso page, connected, with a mapping');
    await h.shoot(page, 'sso-settings');

    // Test sign-in: through the IdP's page and back, with what it sent; the owner stays the owner.
    await idpSection.getByRole('link', { name: 'Test sign-in' }).click();
    await signInAtIdp(page, member('tess'));
    await page.waitForURL(atSsoPage(org.orgId));
    const result = page.getByRole('region', { name: 'Test sign-in worked' });
    await poll(() => result.count()).toBe(1);
    const claims = await result.getByTestId('sso-test-claims').textContent();
    expect(claims).toContain(`${member('tess')} (verified)`);
    expect(claims).toContain('Tess Tester');
    expect(claims).toContain('engineering, everyone');
    expect(claims).toContain('OpenID Connect');
    await poll(() => new URL(page.url()).hash).toBe('');
    await h.expectAccessible(page, 'sso page, a test sign-in result');
    await h.shoot(page, 'sso-test-result');
    const me = expectStatus(await as(h.t.app, { cookie: await h.cookieOf(page) }).get('/api/v1/me'), 200);
    expect(me.json().user.email).toBe(org.owner.email);
    const people = expectStatus(await owner.get(`/api/v1/orgs/${org.orgId}/members`), 200).json();
    expect(JSON.stringify(people)).not.toContain(member('tess'));
    await result.getByRole('button', { name: 'Dismiss' }).click();
    await poll(() => result.count()).toBe(0);

    // A newcomer, in a browser of their own: "Sign in with SSO" by their email, at the IdP, and in.
    const nia = await h.newPage();
    await nia.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    await nia.waitForURL(/\/signin\?next=/);
    await nia.getByRole('button', { name: 'Sign in with SSO' }).click();
    const who = nia.getByRole('textbox', { name: /^Work email or organization ID/ });
    await who.fill(`nia@unknown-${org.domain}`);
    await nia.getByRole('button', { name: 'Continue with SSO' }).click();
    await poll(() => nia.getByRole('alert').textContent()).toContain(
      'No single sign-on is set up for this email or organization.',
    );
    await h.expectAccessible(nia, 'sign-in page, SSO for an unknown domain');
    await h.shoot(nia, 'sso-signin');
    await who.fill(member('nia'));
    await nia.getByRole('button', { name: 'Continue with SSO' }).click();
    await signInAtIdp(nia, member('nia'));
    await nia.waitForURL(`${h.base}/orgs/${org.orgId}/settings/team`);
    await poll(() => nia.getByRole('button', { name: /Nia Newbie/ }).count()).toBe(1);
    const niaMe = expectStatus(await as(h.t.app, { cookie: await h.cookieOf(nia) }).get('/api/v1/me'), 200);
    expect(niaMe.json().user).toMatchObject({ email: member('nia'), name: 'Nia Newbie' });
    expect(niaMe.json().memberships).toMatchObject([{ org: { id: org.orgId }, role: 'developer' }]);
    expect(niaMe.json().session.amr).toEqual(['sso']);

    // Someone the IdP does not vouch for: sent back to the sign-in page, told why in words.
    const una = await h.newPage();
    await una.goto(`${h.base}/signin`);
    await una.getByRole('button', { name: 'Sign in with SSO' }).click();
    await una.getByRole('textbox', { name: /^Work email or organization ID/ }).fill(org.slug);
    await una.getByRole('button', { name: 'Continue with SSO' }).click();
    await signInAtIdp(una, member('una'));
    await una.waitForURL(/\/signin\?sso_error=sso_failed&sso_reason=email_unverified/);
    const refused = una.getByRole('alert');
    await poll(() => refused.textContent()).toContain('Single sign-on did not complete');
    expect(await refused.textContent()).toContain('does not vouch for your email address');
    await h.expectAccessible(una, 'sign-in page, a refused SSO sign-in');

    // A Developer is not offered the page, and is told why if they go there.
    const dev = await addMember(h.t.app, org, 'developer', {}, h.t.mail);
    const devPage = await h.pageAs(dev);
    await devPage.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    const devNav = devPage.getByRole('navigation', { name: 'Settings' });
    await poll(() => devNav.getByRole('link', { name: 'Team' }).count()).toBe(1);
    expect(await devNav.getByRole('link', { name: 'Single sign-on' }).count()).toBe(0);
    await devPage.goto(ssoPage(org.orgId));
    await poll(() => devPage.getByText('Your role does not let you manage single sign-on').count()).toBe(1);
    await h.expectAccessible(devPage, 'sso page without the permission');

    // Enforcing: refused while the owner's own session is a password one; the page says to sign
    // in with SSO first and leads there; signed in through the IdP (the account linked), it works.
    await verifyEmailInDatabase(h.t.app, org.owner.userId);
    idp.setAccount({
      sub: `owner-${org.slug}`,
      email: org.owner.email,
      email_verified: true,
      name: 'Olivia',
    });
    await policy.getByRole('radio', { name: 'Required' }).check({ force: true });
    const hint = policy.getByRole('note');
    await poll(() => hint.textContent()).toContain('You did not sign in with SSO');
    await policy.getByRole('button', { name: 'Save policy' }).click();
    await poll(() => policy.getByRole('alert').textContent()).toContain('This would lock you out');
    expect(await policy.getByRole('alert').textContent()).toContain(
      'You are not signed in through this organization’s identity provider',
    );
    await h.expectAccessible(page, 'sso page, enforcing refused');
    await forgetIdpSession(page);
    await hint.getByRole('link', { name: 'Sign in with SSO now' }).click();
    await signInAtIdp(page, org.owner.email);
    await page.waitForURL(atSsoPage(org.orgId));
    await page.getByRole('region', { name: 'Policy' }).getByRole('radio', { name: 'Required' }).check({
      force: true,
    });
    await poll(() => policy.getByRole('note').count()).toBe(0);
    await policy.getByRole('button', { name: 'Save policy' }).click();
    await notified(page, 'Single sign-on policy saved.');
    const ownerNow = as(h.t.app, { cookie: await h.cookieOf(page) });
    expect(expectStatus(await ownerNow.get(`/api/v1/orgs/${org.orgId}/sso`), 200).json().enforcement).toBe(
      'enforced',
    );

    // Disconnecting while enforced is refused, and the dialog says why.
    await idpSection.getByRole('button', { name: 'Disconnect' }).click();
    const disconnect = page.getByRole('dialog', { name: 'Disconnect OpenID Connect (OIDC)?' });
    await poll(() => disconnect.textContent()).toContain('SSO is enforced');
    await disconnect.getByRole('button', { name: 'Disconnect' }).click();
    await poll(() => disconnect.getByRole('alert').textContent()).toContain('SSO is enforced');
    await h.expectAccessible(page, 'disconnect refused while enforced');
    await disconnect.getByRole('button', { name: 'Cancel' }).click();

    // The Developer, signed in with a password, is now sent to the IdP from the page they are on.
    await devPage.goto(`${h.base}/orgs/${org.orgId}/settings/team`);
    const held = devPage.getByRole('alert').filter({ hasText: 'Sign in with single sign-on' });
    await poll(() => held.count()).toBeGreaterThan(0);
    const link = held.first().getByRole('link', { name: 'Sign in with SSO' });
    expect(await link.getAttribute('href')).toBe(
      `/sso/${org.slug}/oidc/login?next=${encodeURIComponent(`/orgs/${org.orgId}/settings/team`)}`,
    );
    await h.expectAccessible(devPage, 'a member held by enforced SSO');
    await h.shoot(devPage, 'sso-required');
    await verifyEmailInDatabase(h.t.app, dev.userId);
    idp.setAccount({ sub: `dev-${org.slug}`, email: dev.email, email_verified: true, name: 'Dev' });
    await link.click();
    await signInAtIdp(devPage, dev.email);
    await devPage.waitForURL(`${h.base}/orgs/${org.orgId}/settings/team`);
    await poll(() => devPage.getByRole('heading', { name: 'Members', level: 1 }).count()).toBe(1);
    expect(await devPage.getByText('Sign in with single sign-on').count()).toBe(0);
  });

  it('connects SAML by hand, lists its certificate, and speaks Spanish', { timeout: 180_000 }, async () => {
    const org = await createOrg(h.t.app, { name: 'Inicio Único SL', plan: 'pro' });
    expectStatus(await as(h.t.app, org.owner).patch('/api/v1/me', { locale: 'es' }), 200);
    const page = await h.pageAs(org.owner);
    await page.goto(ssoPage(org.orgId));
    await poll(() =>
      page.getByRole('heading', { name: 'Inicio de sesión único (SSO)', level: 1 }).count(),
    ).toBe(1);
    const idpSection = page.getByRole('region', { name: 'Proveedor de identidad' });
    await idpSection.getByRole('radio', { name: 'SAML 2.0' }).check({ force: true });
    // The service provider's values, to give the IdP before it gives its own.
    const base = `${h.base}/sso/${org.slug}/saml`;
    await poll(() => idpSection.getByTestId('sso-acs-url').textContent()).toBe(`${base}/acs`);
    expect(await idpSection.getByTestId('sso-sp-entity-id').textContent()).toBe(`${base}/metadata`);
    expect(await idpSection.getByTestId('sso-metadata-url').textContent()).toBe(`${base}/metadata`);
    const metadata = await fetch(`${base}/metadata`);
    expect(await metadata.text()).toContain(`${base}/acs`);

    // Metadata that is not XML: refused, and why, in Spanish.
    await idpSection.getByRole('textbox', { name: /^Metadatos del proveedor de identidad/ }).fill('hola');
    await idpSection.getByRole('button', { name: 'Conectar' }).click();
    await poll(() => idpSection.getByRole('alert').textContent()).toContain(
      'La configuración del proveedor de identidad no es válida',
    );

    // By hand: entity ID, sign-in URL and the signing certificate.
    await idpSection.getByText('A mano', { exact: true }).click();
    await idpSection
      .getByRole('textbox', { name: /^ID de entidad del proveedor/ })
      .fill('https://idp.example.test/saml');
    await idpSection
      .getByRole('textbox', { name: /^URL de inicio de sesión único/ })
      .fill('https://idp.example.test/sso');
    await idpSection
      .getByRole('textbox', { name: /^Certificados de firma/ })
      .fill(SAML_TEST_KEYS.idp.certificate);
    await idpSection.getByRole('button', { name: 'Conectar' }).click();
    await notified(page, 'Proveedor de identidad SAML conectado.');
    await poll(() => page.getByTestId('sso-idp-state').textContent()).toBe('Conectado con SAML 2.0.');
    const certificate = page
      .getByTestId('sso-certificates')
      .getByRole('row')
      .filter({ hasText: 'Gatehouse test idp' });
    await poll(() => certificate.count()).toBe(1);
    expect(await certificate.textContent()).toContain('Válido');
    expect(await certificate.textContent()).toMatch(/2126/);
    // The other protocol waits until this one is disconnected.
    expect(await idpSection.getByRole('radio', { name: 'OpenID Connect (OIDC)' }).isDisabled()).toBe(true);
    // SAML's own policy switch is there now.
    const policy = page.getByRole('region', { name: 'Política' });
    await poll(() =>
      policy.getByRole('switch', { name: /Permitir el inicio de sesión empezado en el proveedor/ }).count(),
    ).toBe(1);
    expect(await policy.getByRole('radio', { name: 'Obligatorio' }).isDisabled()).toBe(false);
    await poll(() => page.getByRole('region', { name: 'Asignaciones de grupos' }).count()).toBe(1);
    await h.expectAccessible(page, 'sso page in Spanish, SAML connected');
    await h.shoot(page, 'sso-saml-es');

    // Disconnected after a confirmation: back to no provider.
    await idpSection.getByRole('button', { name: 'Desconectar' }).click();
    await page
      .getByRole('dialog', { name: '¿Desconectar SAML 2.0?' })
      .getByRole('button', { name: 'Desconectar' })
      .click();
    await notified(page, 'Proveedor de identidad desconectado.');
    await poll(() => page.getByTestId('sso-idp-state').textContent()).toBe(
      'Aún no hay ningún proveedor de identidad conectado.',
    );
  });
});
