/**
 * Passkey sign-in cost next to password sign-in, in the same run.
 *
 * A Gatehouse runs in this process (fresh PGlite, or a fresh PostgreSQL database when DATABASE_URL
 * is set), with PUBLIC_URL at http://localhost so WebAuthn has a host name as RP ID. Each of USERS
 * accounts has a password and a passkey held by a software authenticator (ES256, as in the tests).
 * Then ROUNDS times, for every user in turn and one request at a time: a password sign-in
 * (POST /auth/login), and a passkey sign-in (POST /auth/passkey/options, then POST /auth/passkey
 * with the assertion). Times are server time: each request goes through app.inject (no socket),
 * and the authenticator's signing happens between the timed requests, not inside them.
 *
 *   node --import tsx bench/sign-in-passkey.ts
 *   SIGNIN_USERS=2 SIGNIN_ROUNDS=2 node --import tsx bench/sign-in-passkey.ts      (smoke run)
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/sign-in-passkey.ts
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../src/server/config.ts';
import { type RunningServer, startServer } from '../src/server/main.ts';
import { SoftPasskey } from '../test/support/webauthn.ts';
import { freePort, machineLine, ms, percentile, removeDir, tempDir } from './lib.ts';
import { createBenchDatabase, dropBenchDatabase } from './pg.ts';

const USERS = Number(process.env.SIGNIN_USERS ?? 20);
const ROUNDS = Number(process.env.SIGNIN_ROUNDS ?? 10);
const PASSWORD = 'violet-anchor-meadow-42';
const line = (label: string, values: readonly number[]) =>
  `    ${label.padEnd(34)} p50 ${ms(percentile(values, 50), 1).padStart(9)}  p99 ${ms(percentile(values, 99), 1).padStart(9)}  (n=${values.length})\n`;

async function main(): Promise<void> {
  process.stdout.write('== sign-in: password only vs. passkey (server time per sign-in) ==\n');
  process.stdout.write(`${machineLine()}\n`);
  const dataDir = tempDir('signin-passkey');
  const db = process.env.DATABASE_URL ? await createBenchDatabase() : undefined;
  const databaseUrl = db?.url;
  let server: RunningServer | undefined;
  try {
    const port = await freePort();
    const origin = `http://localhost:${port}`;
    const config = loadConfig({
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: String(port),
      PUBLIC_URL: origin,
      LOG_LEVEL: 'warn',
      // Every sign-in of the run comes from one address, many to each account.
      SIGNUP_MAX_PER_IP: '100000',
      LOGIN_MAX_PER_ACCOUNT: '100000',
      PASSKEY_CHALLENGES_MAX_PER_IP: '100000',
    });
    server = await startServer(config, { quiet: true });
    const app = server.app;
    process.stdout.write(
      `server on ${databaseUrl ? `PostgreSQL (database ${db?.name})` : 'embedded PGlite (fresh data dir)'}; ${USERS} users x ${ROUNDS} rounds\n`,
    );
    const inject = async (url: string, payload: unknown, cookie?: string) => {
      const started = performance.now();
      const res = await app.inject({
        method: 'POST',
        url,
        payload: payload as object,
        headers: { origin, ...(cookie ? { cookie } : {}) },
      });
      return { ms: performance.now() - started, res };
    };
    const expect = (res: { statusCode: number; body: string }, status: number, what: string) => {
      if (res.statusCode !== status) throw new Error(`${what}: ${res.statusCode} ${res.body}`);
    };

    const users: Array<{ email: string; passkey: SoftPasskey }> = [];
    for (let i = 0; i < USERS; i++) {
      const email = `bench-passkey-${i}-${randomBytes(4).toString('hex')}@example.test`;
      const { res: signup } = await inject('/api/v1/auth/signup', {
        email,
        password: PASSWORD,
        name: 'Bench',
      });
      expect(signup, 201, 'sign-up');
      const cookie = signup.cookies.find((c) => c.name === 'gatehouse_session')!;
      const session = `${cookie.name}=${cookie.value}`;
      // Passkeys are added only to an account whose address is proven.
      await app.gatehouse.database.db.execute(
        sql`UPDATE users SET email_verified_at = now() WHERE email = ${email}`,
      );
      const { res: options } = await inject('/api/v1/me/passkeys/options', {}, session);
      expect(options, 200, 'registration options');
      const passkey = new SoftPasskey();
      const response = passkey.register(options.json(), { origin });
      const { res: added } = await inject('/api/v1/me/passkeys', { name: 'Bench key', response }, session);
      expect(added, 201, 'passkey registration');
      users.push({ email, passkey });
    }

    const password: number[] = [];
    const options: number[] = [];
    const assertion: number[] = [];
    const passkey: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const user of users) {
        const login = await inject('/api/v1/auth/login', { email: user.email, password: PASSWORD });
        expect(login.res, 200, 'password sign-in');
        password.push(login.ms);

        const asked = await inject('/api/v1/auth/passkey/options', {});
        expect(asked.res, 200, 'passkey options');
        const response = user.passkey.assert(asked.res.json(), { origin });
        const signedIn = await inject('/api/v1/auth/passkey', { response });
        expect(signedIn.res, 200, 'passkey sign-in');
        options.push(asked.ms);
        assertion.push(signedIn.ms);
        passkey.push(asked.ms + signedIn.ms);
      }
    }
    process.stdout.write(line('password only (POST /auth/login)', password));
    process.stdout.write(line('passkey, options', options));
    process.stdout.write(line('passkey, assertion', assertion));
    process.stdout.write(line('passkey sign-in (both requests)', passkey));
    process.stdout.write(
      `    passkey / password at p50: ${(percentile(passkey, 50) / percentile(password, 50)).toFixed(2)}x\n`,
    );
  } finally {
    await server?.stop();
    if (db) await dropBenchDatabase(db.name);
    removeDir(dataDir);
  }
}

await main();
