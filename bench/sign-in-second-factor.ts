/**
 * Sign-in with a second factor.
 *  (a) TOTP verification alone: matchTotp (RFC 6238 SHA-1, ±1 step, otpauth's constant-time
 *      comparison) on a right code, and the same after opening the sealed secret (AES-256-GCM), as
 *      the sign-in does; mean µs per call over many calls.
 *  (b) Server time per sign-in, password-only next to password + TOTP in the same run: a loopback
 *      Gatehouse in this process (fresh PGlite, or a fresh PostgreSQL database when DATABASE_URL is
 *      set), two groups of users (one with 2FA on), sign-ins sent one at a time and alternating
 *      between the groups so both meet the same conditions. Each request's time is measured inside
 *      the server process (from the HTTP server's 'request' event to the response's 'finish'), so
 *      the client and the network are not in the figure. A TOTP code is accepted once per user and time
 *      step, so each user of the 2FA group signs in once.
 *
 *   node --import tsx bench/sign-in-second-factor.ts
 *   BENCH_2FA_USERS=5 BENCH_TOTP_CALLS=200 node --import tsx bench/sign-in-second-factor.ts   (smoke)
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/sign-in-second-factor.ts
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { Secret, TOTP } from 'otpauth';
import { loadConfig } from '../src/server/config.ts';
import { type RunningServer, startServer } from '../src/server/main.ts';
import { matchTotp } from '../src/server/modules/accounts/accounts.two-factor.ts';
import { Secrets } from '../src/server/platform/secrets/secrets.ts';
import { clearOfStepEnd } from '../test/support/two-factor.ts';
import { call, machineLine, ms, percentile, removeDir, tempDir } from './lib.ts';
import { createBenchDatabase, dropBenchDatabase } from './pg.ts';

const PASSWORD = 'violet-anchor-meadow-42';
const USERS = Number(process.env.BENCH_2FA_USERS ?? 150);
const TOTP_CALLS = Number(process.env.BENCH_TOTP_CALLS ?? 20_000);
const SETUP_CONCURRENCY = 4;

const code = (secret: string, steps = 0) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: Date.now() + steps * 30_000 });

function verificationAlone(): void {
  const secret = new Secret({ size: 20 }).base32;
  const secrets = new Secrets(randomBytes(32));
  const sealed = secrets.seal(secret, 'totp:bench');
  const token = code(secret);
  const measure = (fn: () => unknown) => {
    for (let i = 0; i < Math.min(1000, TOTP_CALLS); i++) fn(); // warm up
    const started = process.hrtime.bigint();
    for (let i = 0; i < TOTP_CALLS; i++) fn();
    return Number(process.hrtime.bigint() - started) / 1e3 / TOTP_CALLS;
  };
  const plain = measure(() => {
    if (matchTotp(secret, token) === null) throw new Error('matchTotp refused the right code');
  });
  const unsealed = measure(() => {
    if (matchTotp(secrets.open(sealed, 'totp:bench'), token) === null) throw new Error('refused');
  });
  process.stdout.write(`(a) TOTP verification, mean over ${TOTP_CALLS} calls:\n`);
  process.stdout.write(`    matchTotp (right code, ±1 step)         ${plain.toFixed(1)} µs\n`);
  process.stdout.write(`    open sealed secret + matchTotp          ${unsealed.toFixed(1)} µs\n`);
}

async function signIns(): Promise<void> {
  const dataDir = tempDir('second-factor');
  const db = process.env.DATABASE_URL ? await createBenchDatabase() : undefined;
  let server: RunningServer | undefined;
  try {
    const config = loadConfig({
      ...(db ? { DATABASE_URL: db.url } : {}),
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      SIGNUP_MAX_PER_IP: '100000',
      LOGIN_MAX_FAILURES_PER_IP: '100000',
    });
    server = await startServer(config, { quiet: true });
    const base = server.url;
    // The server's own time for each sign-in (they are sent one at a time, so in order).
    const serverMs: number[] = [];
    server.app.server.on('request', (req, res) => {
      if (req.url !== '/api/v1/auth/login') return;
      const started = process.hrtime.bigint();
      res.on('finish', () => serverMs.push(Number(process.hrtime.bigint() - started) / 1e6));
    });
    process.stdout.write(
      `(b) server on ${db ? `PostgreSQL (database ${db.name})` : 'embedded PGlite (fresh data dir)'}; ${USERS} users per group\n`,
    );

    const emails = (group: string) =>
      Array.from(
        { length: USERS },
        (_, i) => `bench-${group}-${i}-${randomBytes(3).toString('hex')}@example.test`,
      );
    const plainUsers = emails('plain');
    const totpUsers = emails('totp').map((email) => ({ email, secret: '' }));
    const setUp = async <T>(items: T[], fn: (item: T) => Promise<void>) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: SETUP_CONCURRENCY }, async () => {
          while (next < items.length) await fn(items[next++]!);
        }),
      );
    };
    const signUp = async (email: string) => {
      const res = await call(base, 'POST', '/api/v1/auth/signup', {
        email,
        password: PASSWORD,
        name: 'Bench',
      });
      if (res.status !== 201 || !res.cookie) throw new Error(`sign-up failed: ${res.status} ${res.text}`);
      return res.cookie;
    };
    await setUp(plainUsers, async (email) => {
      await signUp(email);
    });
    await setUp(totpUsers, async (user) => {
      const cookie = await signUp(user.email);
      // 2FA is added only to an account whose address is proven.
      await server!.app.gatehouse.database.db.execute(
        sql`UPDATE users SET email_verified_at = now() WHERE email = ${user.email}`,
      );
      const started = await call(base, 'POST', '/api/v1/me/2fa/totp', {}, cookie);
      user.secret = JSON.parse(started.text).secret;
      // The previous step's code confirms, leaving the current one for the sign-in; never in the
      // last seconds of a step, when it would be two steps old by the time the server reads it.
      await clearOfStepEnd();
      const confirmed = await call(
        base,
        'POST',
        '/api/v1/me/2fa/totp/confirm',
        { code: code(user.secret, -1) },
        cookie,
      );
      if (confirmed.status !== 200)
        throw new Error(`2FA set-up failed: ${confirmed.status} ${confirmed.text}`);
    });

    const plainTimes: number[] = [];
    const totpTimes: number[] = [];
    const signIn = async (body: Record<string, string>, into: number[]) => {
      const before = serverMs.length;
      const res = await call(base, 'POST', '/api/v1/auth/login', body);
      if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.text}`);
      into.push(serverMs[before]!);
    };
    for (let i = 0; i < USERS; i++) {
      await signIn({ email: plainUsers[i]!, password: PASSWORD }, plainTimes);
      const user = totpUsers[i]!;
      await signIn({ email: user.email, password: PASSWORD, totp: code(user.secret) }, totpTimes);
    }
    const line = (label: string, times: number[]) =>
      `    ${label.padEnd(22)} p50 ${ms(percentile(times, 50), 1)}  p99 ${ms(percentile(times, 99), 1)}  max ${ms(Math.max(...times), 1)}  (n=${times.length})\n`;
    process.stdout.write('    server time per sign-in, one at a time, alternating:\n');
    process.stdout.write(line('password only', plainTimes));
    process.stdout.write(line('password + TOTP', totpTimes));
    const ratio = percentile(totpTimes, 50) / percentile(plainTimes, 50);
    process.stdout.write(`    ratio of medians (TOTP / password only): ${ratio.toFixed(2)}\n`);
  } finally {
    await server?.stop();
    if (db) await dropBenchDatabase(db.name);
    removeDir(dataDir);
  }
}

process.stdout.write(
  '== sign-in with a second factor: TOTP verification, and password vs password + TOTP ==\n',
);
process.stdout.write(`${machineLine()}\n`);
verificationAlone();
await signIns();
