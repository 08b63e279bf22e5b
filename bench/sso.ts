/**
 * Single sign-on cost, next to a password sign-in in the same run.
 *  (a) SAML: validations of signed responses per second on one core — node-saml's checks
 *      (signature over the assertion, audience, times, InResponseTo taken from the database) and
 *      the assertion recorded against replay — run one after another (one core), each answering a
 *      request made beforehand.
 *  (b) The OIDC callback (code exchange with a real IdP on loopback, ID token signature and claims,
 *      the sign-in command, the session) p50/p99, for returning members; and a password sign-in
 *      (POST /api/v1/auth/login, argon2id) p50/p99 on the same server. Sequential requests.
 *
 *   node --import tsx bench/sso.ts
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/sso.ts
 */
import os from 'node:os';
import { samlLoginUrl, validateSamlResponse } from '../src/server/modules/sso/sso.saml.ts';
import { startOidcIdp } from '../test/support/oidc-idp.ts';
import { createTestSamlIdp } from '../test/support/saml-idp.ts';
import { call, freePort, machineLine, ms, percentile } from './lib.ts';
import { withBenchGatehouse } from './server.ts';

const SAML_RUNS = 300;
const OIDC_MEMBERS = 20;
const OIDC_RUNS = 200;
const LOGIN_RUNS = 200;
const PASSWORD = 'violet-anchor-meadow-42';

const postgres = Boolean(process.env.DATABASE_URL);
const port = await freePort();
const publicUrl = `http://127.0.0.1:${port}`;
console.log(machineLine());

await withBenchGatehouse(
  'sso',
  {
    postgres,
    env: {
      PORT: String(port),
      PUBLIC_URL: publicUrl,
      OUTBOUND_ALLOWLIST: '127.0.0.1/32',
      SIGNUP_MAX_PER_IP: '100000',
      LOGIN_MAX_PER_ACCOUNT: '100000',
    },
  },
  async ({ server, database }) => {
    const base = server.url;
    console.log(
      `server on ${database}; load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    const owner = await call(base, 'POST', '/api/v1/auth/signup', {
      email: 'owner@bench.example',
      password: PASSWORD,
      name: 'Bench Owner',
    });
    const cookie = owner.cookie!;
    const org = JSON.parse(
      (await call(base, 'POST', '/api/v1/orgs', { name: 'SSO Bench', plan: 'enterprise' }, cookie)).text,
    );
    const db = server.database.db;

    // (a) SAML validation, one core.
    const samlIdp = createTestSamlIdp();
    const saml = await call(
      base,
      'PUT',
      `/api/v1/orgs/${org.id}/sso/saml`,
      { idpMetadataXml: samlIdp.metadata },
      cookie,
    );
    if (saml.status !== 200) throw new Error(`SAML set-up: ${saml.status} ${saml.text}`);
    const sp = JSON.parse(saml.text) as { spEntityId: string; acsUrl: string };
    const config = {
      idpEntityId: samlIdp.entityId,
      idpSsoUrl: samlIdp.ssoUrl,
      idpCertificates: [samlIdp.certificate],
      spEntityId: sp.spEntityId,
      acsUrl: sp.acsUrl,
      allowIdpInitiated: false,
      groupsAttribute: 'groups',
    };
    const spXml = (await call(base, 'GET', `/sso/${org.slug}/saml/metadata`, undefined)).text;
    const responses: string[] = [];
    for (let i = 0; i < SAML_RUNS; i++) {
      const url = await samlLoginUrl(db, org.id, config, { purpose: 'login', next: null, userId: null });
      const { id } = await samlIdp.readAuthnRequest(url, spXml);
      responses.push(
        await samlIdp.respond({
          inResponseTo: id,
          acsUrl: sp.acsUrl,
          audience: sp.spEntityId,
          nameId: `person-${i}@bench.example`,
          email: `person-${i}@bench.example`,
          groups: ['engineering'],
        }),
      );
    }
    const started = performance.now();
    for (const response of responses) await validateSamlResponse(db, org.id, config, response);
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `(a) SAML responses validated   ${(SAML_RUNS / seconds).toFixed(0)}/s on one core (${SAML_RUNS} in ${seconds.toFixed(2)} s)`,
    );

    // (b) OIDC callback vs password sign-in, on a second org with OIDC.
    const org2 = JSON.parse(
      (await call(base, 'POST', '/api/v1/orgs', { name: 'SSO Bench OIDC', plan: 'enterprise' }, cookie)).text,
    );
    const redirectUri = `${publicUrl}/sso/${org2.slug}/oidc/callback`;
    const oidcIdp = await startOidcIdp({
      clients: [
        { client_id: 'bench', client_secret: 'bench-secret-0123456789', redirect_uris: [redirectUri] },
      ],
    });
    try {
      const put = await call(
        base,
        'PUT',
        `/api/v1/orgs/${org2.id}/sso/oidc`,
        {
          issuer: oidcIdp.issuer,
          clientId: 'bench',
          clientSecret: 'bench-secret-0123456789',
        },
        cookie,
      );
      if (put.status !== 200) throw new Error(`OIDC set-up: ${put.status} ${put.text}`);
      await call(base, 'PATCH', `/api/v1/orgs/${org2.id}/sso`, { jitProvisioning: true }, cookie);
      const members = Array.from({ length: OIDC_MEMBERS }, (_, i) => ({
        sub: `member-${i}`,
        email: `member-${i}@bench.example`,
        email_verified: true,
        name: `Member ${i}`,
      }));
      const oidcSignIn = async (member: (typeof members)[number]) => {
        const start = await fetch(`${base}/sso/${org2.slug}/oidc/login`, { redirect: 'manual' });
        const binding = start.headers
          .getSetCookie()
          .find((c) => c.startsWith('gatehouse_sso='))!
          .split(';')[0]!;
        const back = await oidcIdp.login(start.headers.get('location')!, member);
        const t0 = performance.now();
        const done = await fetch(`${base}${back.pathname}${back.search}`, {
          redirect: 'manual',
          headers: { cookie: binding },
        });
        const elapsed = performance.now() - t0;
        if (
          done.status !== 303 ||
          !done.headers.getSetCookie().some((c) => c.startsWith('gatehouse_session='))
        ) {
          throw new Error(`OIDC callback answered ${done.status} ${done.headers.get('location')}`);
        }
        return elapsed;
      };
      for (const member of members) await oidcSignIn(member); // first sign-ins: provisioned
      const oidcTimes: number[] = [];
      for (let i = 0; i < OIDC_RUNS; i++) oidcTimes.push(await oidcSignIn(members[i % OIDC_MEMBERS]!));

      const emails: string[] = [];
      for (let i = 0; i < 20; i++) {
        const email = `pw-${i}@bench.example`;
        await call(base, 'POST', '/api/v1/auth/signup', { email, password: PASSWORD, name: `Pw ${i}` });
        emails.push(email);
      }
      const loginTimes: number[] = [];
      for (let i = 0; i < LOGIN_RUNS; i++) {
        const t0 = performance.now();
        const res = await call(base, 'POST', '/api/v1/auth/login', {
          email: emails[i % emails.length],
          password: PASSWORD,
        });
        loginTimes.push(performance.now() - t0);
        if (res.status !== 200) throw new Error(`login answered ${res.status}: ${res.text}`);
      }
      console.log(
        `(b) OIDC callback (returning)  p50 ${ms(percentile(oidcTimes, 50), 1)} / p99 ${ms(percentile(oidcTimes, 99), 1)} over ${OIDC_RUNS}`,
      );
      console.log(
        `    password sign-in baseline  p50 ${ms(percentile(loginTimes, 50), 1)} / p99 ${ms(percentile(loginTimes, 99), 1)} over ${LOGIN_RUNS}`,
      );
    } finally {
      await oidcIdp.close();
    }
  },
);
