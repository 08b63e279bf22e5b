import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestApp,
  ORIGIN,
  STRONG_PASSWORD,
  signUp,
  type TestApp,
  uniqueEmail,
} from '../../../../test/support/app.ts';
import { freePort } from '../../../../test/support/cli.ts';
import { queryRows } from '../../../../test/support/database.ts';
import { type MailSink, startMailSink } from '../../../../test/support/mail.ts';
import { addMember, as, createOrg, expectStatus, INVITATION_LINK } from '../../../../test/support/orgs.ts';
import { emailChangeLetter, resetLetter, verificationLetter } from '../../modules/accounts/accounts.mail.ts';
import {
  invitationLetter,
  joinApprovedLetter,
  joinRequestLetter,
} from '../../modules/invitations/invitations.mail.ts';
import { ownershipReceived, roleChanged } from '../../modules/members/members.mail.ts';
import { movedByDeletion } from '../../modules/roles/roles.mail.ts';
import { outboxSecretContext } from '../outbox/index.ts';
import { loadSecretsKey } from '../secrets/keys.ts';
import { rotateSecrets } from '../secrets/rotate.ts';
import { Secrets } from '../secrets/secrets.ts';
import { EMAIL_SEND, type Letter, MAIL_LANGUAGES, type MailLanguage, mailLanguage } from './queue.ts';

/**
 * Email on the outbox: each message is an `email.send` job of the change's transaction, sealed at
 * rest and emptied once sent; a message waits out an SMTP server that is away and arrives once;
 * a message the server refuses for good is given up; every email is in its recipient's language.
 */

interface EmailJob {
  id: string;
  state: string;
  attempts: number;
  payload: unknown;
  secret: string | null;
  last_error: string | null;
}

async function emailJobs(t: TestApp, since: Date): Promise<EmailJob[]> {
  return queryRows<EmailJob>(
    t.app.gatehouse.database.db,
    sql`SELECT id, state, attempts, payload, secret, last_error FROM outbox_jobs
         WHERE kind = ${EMAIL_SEND} AND created_at >= ${since.toISOString()} ORDER BY created_at, id`,
  );
}

/** The email job whose sealed message is to `to` and matches `pattern` (opened with the app's key). */
async function jobTo(t: TestApp, since: Date, to: string, pattern: RegExp): Promise<EmailJob> {
  for (const job of await emailJobs(t, since)) {
    if (!job.secret) continue;
    const message = JSON.parse(t.app.gatehouse.secrets.open(job.secret, outboxSecretContext(job.id))) as {
      to: string;
      subject: string;
      text: string;
    };
    if (message.to === to && (pattern.test(message.subject) || pattern.test(message.text))) return job;
  }
  throw new Error(`no email job to ${to} matching ${pattern}`);
}

async function waitFor<T>(fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('not in time');
    await sleep(50);
  }
}

const mailsTo = (sink: MailSink, to: string, pattern: RegExp) =>
  sink.messages.filter(
    (m) => m.to.includes(to.toLowerCase()) && (pattern.test(m.subject) || pattern.test(m.text)),
  );

describe('an email is an outbox job of the change that causes it', () => {
  let t: TestApp;
  beforeAll(async () => {
    // No worker: the job is looked at before anything sends it.
    t = await createTestApp({ outbox: { worker: false } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('holds the message sealed (no address, no link in clear), and empties it once sent', async () => {
    const since = new Date(Date.now() - 1000);
    const email = uniqueEmail('sealed');
    await signUp(t.app, { email });
    const job = await jobTo(t, since, email, /verify-email#token=/);
    expect(job.state).toBe('pending');
    expect(job.payload).toEqual({});
    expect(job.secret).toMatch(/^gh1\./);
    const [stored] = await queryRows<{ row: string }>(
      t.app.gatehouse.database.db,
      sql`SELECT row_to_json(j)::text AS row FROM outbox_jobs j WHERE id = ${job.id}`,
    );
    expect(stored!.row).not.toContain(email);
    expect(stored!.row).not.toContain('verify-email');
    // Sealed for its own row: copied to another job, it does not open.
    expect(() => t.app.gatehouse.secrets.open(job.secret!, outboxSecretContext(randomUUID()))).toThrow();
    expect(mailsTo(t.mail, email, /verify-email#token=/)).toEqual([]);

    t.app.gatehouse.outbox.start();
    await t.drainOutbox({ kind: EMAIL_SEND });

    const [sent] = await queryRows<EmailJob>(
      t.app.gatehouse.database.db,
      sql`SELECT id, state, attempts, payload, secret, last_error FROM outbox_jobs WHERE id = ${job.id}`,
    );
    expect(sent).toMatchObject({ state: 'done', attempts: 1, payload: {}, secret: null });
    expect(mailsTo(t.mail, email, /verify-email#token=/)).toHaveLength(1);
  });
});

describe('a key rotation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ outbox: { worker: false } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('re-seals the messages still waiting, which then open under the new key only', async () => {
    const since = new Date(Date.now() - 1000);
    const email = uniqueEmail('rotated');
    await signUp(t.app, { email });
    const job = await jobTo(t, since, email, /verify-email#token=/);
    const old = t.app.gatehouse.secrets;
    // A new key, the app's own (read from its data folder) among the previous ones.
    const rotated = new Secrets(randomBytes(32), [
      loadSecretsKey({ dataDir: t.config.dataDir, generate: false }),
    ]);
    const report = await rotateSecrets(t.app.gatehouse.database, rotated);
    expect(report.columns.find((c) => c.column === 'outbox_jobs.secret')).toMatchObject({ failures: [] });
    const [row] = await queryRows<{ secret: string }>(
      t.app.gatehouse.database.db,
      sql`SELECT secret FROM outbox_jobs WHERE id = ${job.id}`,
    );
    expect(row!.secret.startsWith(`gh1.${rotated.currentKeyId}.`)).toBe(true);
    const message = JSON.parse(rotated.open(row!.secret, outboxSecretContext(job.id))) as { to: string };
    expect(message.to).toBe(email);
    expect(() => old.open(row!.secret, outboxSecretContext(job.id))).toThrow();
  });
});

describe('while the SMTP server is away', () => {
  let t: TestApp;
  let port: number;
  let sink: MailSink | undefined;
  beforeAll(async () => {
    port = await freePort();
    t = await createTestApp({ smtpUrl: `smtp://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await t?.close();
    await sink?.close();
  });

  it('a message fails, is retried on schedule, and arrives once when the server is back', async () => {
    const person = await signUp(t.app, { email: uniqueEmail('patient') });
    const since = new Date(Date.now() - 1000);
    expectStatus(
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/password-reset',
        headers: { origin: ORIGIN },
        payload: { email: person.email },
      }),
      202,
    );
    const job = await jobTo(t, since, person.email, /reset-password#token=/);
    // The first attempt failed (nothing listens on the port) and the job waits for its retry.
    const failed = await waitFor(async () => {
      const [row] = await queryRows<{ state: string; attempts: number; last_error: string | null }>(
        t.app.gatehouse.database.db,
        sql`SELECT state, attempts, last_error FROM outbox_jobs WHERE id = ${job.id}`,
      );
      return row && row.attempts >= 1 && row.last_error ? row : undefined;
    });
    expect(failed).toMatchObject({
      state: 'pending',
      attempts: 1,
      last_error: expect.stringMatching(/ECONNREFUSED/),
    });

    // The SMTP server comes up where the app sends.
    sink = await startMailSink(port);
    const message = await waitFor(async () => mailsTo(sink!, person.email, /reset-password#token=/)[0]);
    expect(message.subject).toBe('Reset your Gatehouse password');
    await waitFor(async () => {
      const [row] = await queryRows<{ state: string }>(
        t.app.gatehouse.database.db,
        sql`SELECT state FROM outbox_jobs WHERE id = ${job.id}`,
      );
      return row?.state === 'done' ? row : undefined;
    });
    await t.drainOutbox();
    await sleep(300);

    expect(mailsTo(sink, person.email, /reset-password#token=/)).toHaveLength(1);
    const tries = await queryRows<{ ok: boolean }>(
      t.app.gatehouse.database.db,
      sql`SELECT ok FROM outbox_attempts WHERE job_id = ${job.id} ORDER BY attempt`,
    );
    expect(tries.map((a) => a.ok)).toEqual([false, true]);
    expect(t.logs.some((l) => l.includes('outbox: attempt failed') && !l.includes('reset-password'))).toBe(
      true,
    );
  });
});

describe('a message the SMTP server refuses for good', () => {
  let t: TestApp;
  let server: SMTPServer;
  beforeAll(async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo(address, _session, callback) {
        const refused = Object.assign(new Error('no such mailbox'), { responseCode: 550 });
        callback(address.address.endsWith('@refused.example') ? refused : null);
      },
      onData(stream, _session, callback) {
        stream.resume();
        stream.on('end', () => callback());
      },
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    t = await createTestApp({ smtpUrl: `smtp://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('is given up after one attempt (dead), for an operator to see', async () => {
    const org = await createOrg(t.app);
    const since = new Date(Date.now() - 1000);
    const to = 'nobody@refused.example';
    expectStatus(
      await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
        emails: [to],
        role: 'viewer',
      }),
      201,
    );
    const job = await jobTo(t, since, to, INVITATION_LINK);
    const dead = await waitFor(async () => {
      const [row] = await queryRows<EmailJob>(
        t.app.gatehouse.database.db,
        sql`SELECT id, state, attempts, payload, secret, last_error FROM outbox_jobs WHERE id = ${job.id}`,
      );
      return row?.state === 'dead' ? row : undefined;
    });
    expect(dead).toMatchObject({ attempts: 1, last_error: expect.stringMatching(/no such mailbox/) });
    // Kept sealed, to be retried by an operator once the address is fixed.
    expect(dead.secret).toMatch(/^gh1\./);
  });
});

describe("every email in its recipient's language", () => {
  const link = 'http://localhost:3000/x#token=abc';
  const expiresAt = new Date('2030-01-02T03:04:00Z');
  const letters: Record<string, (language: MailLanguage) => Letter> = {
    verification: (l) => verificationLetter(l, { name: 'Ana', link, expiresAt }),
    reset: (l) => resetLetter(l, { link, expiresAt }),
    emailChange: (l) => emailChangeLetter(l, { name: 'Ana', link, expiresAt }),
    invitation: (l) =>
      invitationLetter(l, {
        to: 'a@example.test',
        inviter: 'Ana',
        orgName: 'Acme',
        roleName: 'Viewer',
        link,
        expiresAt,
      }),
    joinRequest: (l) => joinRequestLetter(l, { email: 'a@example.test', orgName: 'Acme' }),
    joinApproved: (l) => joinApprovedLetter(l, { orgName: 'Acme', roleName: 'Viewer' }),
    roleChanged: (l) => roleChanged(l, { orgName: 'Acme', roleName: 'Admin', from: 'viewer', to: 'admin' }),
    ownership: (l) => ownershipReceived(l, { orgName: 'Acme' }),
    movedByDeletion: (l) =>
      movedByDeletion(l, {
        orgName: 'Acme',
        roleName: 'Viewer',
        from: 'auditor',
        to: 'viewer',
        deletedRoleName: 'Auditor',
      }),
  };

  it.each(Object.keys(letters))('%s: English and Spanish texts, each whole', (name) => {
    const [en, es] = MAIL_LANGUAGES.map((l) => letters[name]!(l));
    expect(en!.subject).not.toBe(es!.subject);
    expect(en!.text).not.toBe(es!.text);
    for (const letter of [en!, es!]) {
      expect(letter.subject.trim()).not.toBe('');
      expect(letter.text.endsWith('\n')).toBe(true);
      if (['verification', 'reset', 'emailChange', 'invitation'].includes(name)) {
        expect(letter.text).toContain(link);
        expect(letter.text).toContain('2030-01-02 03:04 UTC');
      }
    }
  });

  it('reads the language of a stored locale, English otherwise', () => {
    expect(mailLanguage('es')).toBe('es');
    expect(mailLanguage('es-MX')).toBe('es');
    expect(mailLanguage('en-GB')).toBe('en');
    expect(mailLanguage(null)).toBe('en');
    expect(mailLanguage('fr')).toBe('en');
  });

  describe('through the API', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp();
    });
    afterAll(async () => {
      await t?.close();
    });

    async function speaksSpanish(person: { cookie: string }) {
      expectStatus(await as(t.app, person).patch('/api/v1/me', { locale: 'es-MX' }), 200);
    }

    it('security notices and password resets follow the account’s locale', async () => {
      const ana = await signUp(t.app, { email: uniqueEmail('ana'), name: 'Ana' });
      const bob = await signUp(t.app, { email: uniqueEmail('bob'), name: 'Bob' });
      await speaksSpanish(ana);
      for (const who of [ana, bob]) {
        expectStatus(
          await as(t.app, who).post('/api/v1/me/password', {
            currentPassword: STRONG_PASSWORD,
            newPassword: 'copper-lantern-harbor-77',
          }),
          204,
        );
        expectStatus(
          await t.app.inject({
            method: 'POST',
            url: '/api/v1/auth/password-reset',
            headers: { origin: ORIGIN },
            payload: { email: who.email },
          }),
          202,
        );
      }
      const notice = await t.mail.latestTo(ana.email, 0, /contraseña cambiada/);
      expect(notice.subject).toBe('Aviso de seguridad de Gatehouse: contraseña cambiada');
      expect(notice.text).toMatch(/^Hola "Ana",/);
      expect((await t.mail.latestTo(ana.email, 0, /reset-password#token=/)).subject).toBe(
        'Restablece tu contraseña de Gatehouse',
      );
      expect((await t.mail.latestTo(bob.email, 0, /password changed/)).subject).toBe(
        'Gatehouse security notice: password changed',
      );
      expect((await t.mail.latestTo(bob.email, 0, /reset-password#token=/)).subject).toBe(
        'Reset your Gatehouse password',
      );
    });

    it('an invitation is in the language of the account at its address, English for an address with none', async () => {
      const org = await createOrg(t.app, { name: 'Acme Seguridad' });
      await speaksSpanish(org.owner);
      const carla = await signUp(t.app, { email: uniqueEmail('carla'), name: 'Carla' });
      await speaksSpanish(carla);
      const stranger = uniqueEmail('stranger');
      expectStatus(
        await as(t.app, org.owner).post(`/api/v1/orgs/${org.orgId}/invitations`, {
          emails: [carla.email, stranger],
          role: 'viewer',
        }),
        201,
      );
      const toCarla = await t.mail.latestTo(carla.email, 0, INVITATION_LINK);
      expect(toCarla.subject).toBe('Te invitaron a una organización en Gatehouse');
      expect(toCarla.text).toContain('"Acme Seguridad"');
      const toStranger = await t.mail.latestTo(stranger, 0, INVITATION_LINK);
      expect(toStranger.subject).toBe('You are invited to an organization on Gatehouse');
    });

    it("a role change tells the member in theirs, and the owners' alert each in their own", async () => {
      const org = await createOrg(t.app, { name: 'Acme' });
      const dev = await addMember(t.app, org, 'developer', {}, t.mail);
      await speaksSpanish(dev);
      const since = t.mail.messages.length;
      expectStatus(
        await as(t.app, org.owner).patch(`/api/v1/orgs/${org.orgId}/members/${dev.userId}`, {
          role: 'admin',
        }),
        200,
      );
      expect((await t.mail.latestTo(dev.email, since, /Tu rol en/)).text).toMatch(
        /^Tu rol en "Acme" cambió de developer a admin\.\r?\n$/,
      );
      // The owner kept English: the alert of the promotion is in English.
      const alert = await t.mail.latestTo(org.owner.email, since, /is now "Admin"/);
      expect(alert.subject).toBe(`${dev.email} is now "Admin" of "Acme"`);
    });

    it('a new address is mailed in the language of the person moving to it', async () => {
      const dana = await signUp(t.app, { email: uniqueEmail('dana'), name: 'Dana' });
      await speaksSpanish(dana);
      const next = uniqueEmail('dana-next');
      expectStatus(
        await as(t.app, dana).post('/api/v1/me/email', { newEmail: next, password: STRONG_PASSWORD }),
        202,
      );
      expect((await t.mail.latestTo(next, 0, /confirm-email#token=/)).subject).toBe(
        'Confirma tu nueva dirección de correo para Gatehouse',
      );
      expect((await t.mail.latestTo(dana.email, 0, /está a punto de cambiar/)).text).toContain(next);
    });
  });
});
