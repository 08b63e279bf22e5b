import fs from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bodyOf } from '../../../../test/support/mail.ts';
import { createMailer, type Mailer, type MailerLog, MailRefusedError, quoted } from './mailer.ts';

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

// Long enough to be folded by quoted-printable, with `=` that it escapes: the link has to arrive intact.
const LINK =
  'http://localhost:3000/invitations/accept?token=Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4&org=acme';
const TEXT = `Renée invited you to Acme.\r\n\r\nAccept the invitation: ${LINK}.\r\nHelp: https://gatehouse.example/help\r\n`;

interface Received {
  from: string | undefined;
  to: string[];
  raw: string;
}

interface LogEntry {
  level: 'info' | 'warn';
  obj: object;
  msg: string;
}

function recordingLog(): MailerLog & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    info: (obj, msg) => entries.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => entries.push({ level: 'warn', obj, msg }),
  };
}

const INJECTIONS = [
  { to: 'new.member@example.com', subject: 'Welcome\r\nBcc: attacker@evil.example' },
  { to: 'new.member@example.com', subject: 'Welcome\nBcc: attacker@evil.example' },
  { to: 'new.member@example.com', subject: 'Welcome\rBcc: attacker@evil.example' },
  { to: 'new.member@example.com\r\nBcc: attacker@evil.example', subject: 'Welcome' },
  { to: 'new.member@example.com\nattacker@evil.example', subject: 'Welcome' },
];

describe('createMailer with an SMTP URL', () => {
  let server: SMTPServer;
  let smtpUrl: string;
  const received: Received[] = [];
  let mailer: Mailer;
  let log: ReturnType<typeof recordingLog>;

  beforeAll(async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onRcptTo(address, _session, callback) {
        callback(address.address.endsWith('@refused.example') ? new Error('no such mailbox') : null);
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    smtpUrl = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    received.length = 0;
    log = recordingLog();
    mailer = createMailer({
      smtpUrl,
      from: 'Gatehouse <no-reply@gatehouse.example>',
      dataDir: '/nonexistent',
      log,
    });
  });

  afterEach(async () => {
    await mailer.close();
  });

  it('delivers the message to the SMTP server, from the configured sender', async () => {
    await mailer.send({ to: 'new.member@example.com', subject: 'You are invited to Acme', text: TEXT });

    expect(received).toHaveLength(1);
    const [message] = received;
    expect(message?.from).toBe('no-reply@gatehouse.example');
    expect(message?.to).toEqual(['new.member@example.com']);
    expect(message?.raw).toMatch(/^From: Gatehouse <no-reply@gatehouse\.example>$/m);
    expect(message?.raw).toMatch(/^To: new\.member@example\.com$/m);
    expect(message?.raw).toMatch(/^Subject: You are invited to Acme$/m);
    expect(bodyOf(message?.raw ?? '')).toBe(TEXT);
    expect(log.entries).toEqual([]);
  });

  it('sends an HTML part next to the text when given one', async () => {
    await mailer.send({
      to: 'new.member@example.com',
      subject: 'You are invited to Acme',
      text: TEXT,
      html: `<p><a href="${LINK}">Accept the invitation</a></p>`,
    });

    expect(received[0]?.raw).toMatch(/^Content-Type: multipart\/alternative;/m);
    expect(received[0]?.raw).toMatch(/^Content-Type: text\/html; charset=utf-8$/m);
  });

  it("rejects with the server's refusal; a permanent one (5xx) as MailRefusedError, not worth retrying", async () => {
    const refused = mailer.send({
      to: 'nobody@refused.example',
      subject: 'You are invited to Acme',
      text: TEXT,
    });
    await expect(refused).rejects.toThrow(/no such mailbox/);
    await expect(refused).rejects.toBeInstanceOf(MailRefusedError);
    expect(received).toEqual([]);
  });

  it('rejects a message when the server cannot be reached, as an error worth retrying', async () => {
    const closed = createMailer({
      smtpUrl: `smtp://127.0.0.1:${await closedPort()}`,
      from: 'Gatehouse <no-reply@gatehouse.example>',
      dataDir: '/nonexistent',
      log,
    });
    try {
      const sending = closed.send({ to: 'new.member@example.com', subject: 'Hello', text: TEXT });
      await expect(sending).rejects.toThrow(/ECONNREFUSED/);
      await expect(sending).rejects.not.toBeInstanceOf(MailRefusedError);
    } finally {
      await closed.close();
    }
  });

  it('refuses a line break in the subject or the recipient before anything reaches the server', async () => {
    for (const { to, subject } of INJECTIONS) {
      await expect(mailer.send({ to, subject, text: TEXT })).rejects.toThrow(
        /must not contain line breaks or other control characters/,
      );
      await expect(mailer.send({ to, subject, text: TEXT })).rejects.toBeInstanceOf(MailRefusedError);
    }
    expect(received).toEqual([]);
  });
});

describe('createMailer without an SMTP URL', () => {
  let dataDir: string;
  let log: ReturnType<typeof recordingLog>;
  let mailer: Mailer;

  beforeEach(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gatehouse-mail-'));
    log = recordingLog();
    mailer = createMailer({ smtpUrl: undefined, from: 'Gatehouse <no-reply@localhost>', dataDir, log });
  });

  afterEach(async () => {
    await mailer.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('writes each message as an .eml file in <dataDir>/mail/ and logs its path, never its links', async () => {
    await mailer.send({ to: 'new.member@example.com', subject: 'You are invited to Acme', text: TEXT });
    await mailer.send({ to: 'new.member@example.com', subject: 'You are invited to Acme', text: TEXT });

    const folder = path.join(dataDir, 'mail');
    const names = (await fs.readdir(folder)).sort();
    expect(names).toHaveLength(2);
    for (const name of names) expect(name).toMatch(/^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{12}\.eml$/);

    const file = path.join(folder, names[0] ?? '');
    const raw = await fs.readFile(file, 'utf8');
    expect(raw).toMatch(/^From: Gatehouse <no-reply@localhost>\r$/m);
    expect(raw).toMatch(/^To: new\.member@example\.com\r$/m);
    expect(raw).toMatch(/^Subject: You are invited to Acme\r$/m);
    expect(raw).not.toMatch(/[^\r]\n/);
    expect(bodyOf(raw)).toBe(TEXT);

    expect(log.entries).toHaveLength(2);
    expect(log.entries.map((entry) => (entry.obj as { file: string }).file).sort()).toEqual(
      names.map((name) => path.join(folder, name)),
    );
    expect(log.entries[0]).toEqual({
      level: 'info',
      msg: 'email written to the data folder',
      obj: {
        to: 'new.member@example.com',
        subject: 'You are invited to Acme',
        file: expect.stringMatching(/\.eml$/),
      },
    });
    // The body's links carry live tokens: nothing of them reaches the log.
    const logged = JSON.stringify(log.entries);
    expect(logged).not.toContain(LINK);
    expect(logged).not.toContain('Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4');
  });

  it.skipIf(process.platform === 'win32')(
    'keeps the folder and the files private to their owner',
    async () => {
      await mailer.send({ to: 'new.member@example.com', subject: 'You are invited to Acme', text: TEXT });

      const folder = path.join(dataDir, 'mail');
      const [name] = await fs.readdir(folder);
      expect((await fs.stat(folder)).mode & 0o777).toBe(0o700);
      expect((await fs.stat(path.join(folder, name ?? ''))).mode & 0o777).toBe(0o600);
    },
  );

  it('refuses a line break in the subject or the recipient, and writes nothing', async () => {
    for (const { to, subject } of INJECTIONS) {
      await expect(mailer.send({ to, subject, text: TEXT })).rejects.toThrow(
        /must not contain line breaks or other control characters/,
      );
    }
    await expect(
      mailer.send({ to: 'new.member@example.com\u0000', subject: 'You are invited to Acme', text: TEXT }),
    ).rejects.toThrow(/control characters/);

    await expect(fs.readdir(path.join(dataDir, 'mail'))).rejects.toThrow(/ENOENT/);
    expect(log.entries).toEqual([]);
  });

  it('refuses a recipient that is not exactly one address', async () => {
    for (const to of [
      'new.member@example.com, attacker@evil.example',
      'team: a@example.com, b@example.com;',
      'nobody',
      '',
    ]) {
      await expect(mailer.send({ to, subject: 'You are invited to Acme', text: TEXT })).rejects.toThrow(
        /recipient must be exactly one address/,
      );
    }
    expect(log.entries).toEqual([]);
  });

  it('refuses a sender that is not exactly one address when created', () => {
    for (const from of [
      'Gatehouse <no-reply@localhost>\r\nBcc: attacker@evil.example',
      'a@x.example, b@x.example',
    ]) {
      expect(() => createMailer({ smtpUrl: undefined, from, dataDir, log })).toThrow(/email sender/);
    }
  });
});

describe('quoted', () => {
  it('defangs a name that carries a link, whatever dots, colons or invisible characters spell it', () => {
    expect(quoted('reset at http://evil.example')).toBe('"reset at hxxp[:]//evil[.]example"');
    // One-dot leader, small full stop, full-width letters and colon: NFKC makes them the real ones.
    expect(quoted('evil\u2024example')).toBe('"evil[.]example"');
    expect(quoted('evil\ufe52example')).toBe('"evil[.]example"');
    expect(quoted('\uff48\uff54\uff54\uff50\uff1a//x')).toBe('"hxxp[:]//x"');
    // A zero-width space inside the scheme, a right-to-left override reversing what follows.
    expect(quoted('ht\u200btp://evil.example')).toBe('"hxxp[:]//evil[.]example"');
    expect(quoted('Acme \u202eelpmaxe.live\u202c')).toBe('"Acme elpmaxe[.]live"');
    expect(quoted('Ana María')).toBe('"Ana María"');
  });
});
