import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

/**
 * A browser driven with `app.inject`: its cookies, kept across requests (an SSO sign-in's
 * binding cookie, the session). Paths and flags are not modelled: every cookie goes everywhere.
 */
export class CookieBrowser {
  cookies = new Map<string, string>();
  constructor(private readonly app: FastifyInstance) {}

  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  keep(res: LightMyRequestResponse) {
    for (const c of res.cookies) {
      if (c.maxAge === 0 || c.value === '') this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    return res;
  }

  async get(url: string) {
    return this.keep(await this.app.inject({ method: 'GET', url, headers: { cookie: this.header() } }));
  }

  /**
   * Submits an HTML form (`application/x-www-form-urlencoded`), as a page of `origin` does: a
   * page of another site (an IdP's) sends its own Origin, or none at all (`null`).
   */
  async postForm(url: string, fields: Record<string, string>, origin: string | null) {
    return this.keep(
      await this.app.inject({
        method: 'POST',
        url,
        headers: {
          cookie: this.header(),
          'content-type': 'application/x-www-form-urlencoded',
          ...(origin !== null ? { origin } : {}),
        },
        payload: new URLSearchParams(fields).toString(),
      }),
    );
  }

  /** The session cookie, as `as()` takes it; undefined when not signed in. */
  session() {
    const value = this.cookies.get('gatehouse_session');
    return value ? { cookie: `gatehouse_session=${value}` } : undefined;
  }

  /** Signs this browser in with a session cookie (`gatehouse_session=…`) got elsewhere. */
  signedInAs(who: { cookie: string }) {
    this.cookies.set('gatehouse_session', who.cookie.split('=')[1]!);
    return this;
  }
}
