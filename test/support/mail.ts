import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface CapturedMail {
  to: string[];
  subject: string;
  text: string;
  /** The whole message as received (headers and every MIME part). */
  raw: string;
}

/**
 * The attachments of a multipart message as a mail client saves them: each part with a
 * `Content-Disposition: attachment`, its base64 body decoded.
 */
export function attachmentsOf(raw: string): { filename: string; contentType: string; content: Buffer }[] {
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(raw)?.[1];
  if (!boundary) return [];
  const found: { filename: string; contentType: string; content: Buffer }[] = [];
  for (const part of raw.split(`--${boundary}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const headers = part.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
    if (!/^Content-Disposition: attachment/im.test(headers)) continue;
    const filename = /filename="?([^";\r\n]+)"?/i.exec(headers)?.[1] ?? '';
    const contentType = /^Content-Type: ([^;\r\n]+)/im.exec(headers)?.[1]?.trim() ?? '';
    const body = part.slice(split + 4).replace(/\s+/g, '');
    found.push({ filename, contentType, content: Buffer.from(body, 'base64') });
  }
  return found;
}

/** The body of a single-part message, its transfer encoding undone (7bit or quoted-printable). */
export function bodyOf(raw: string): string {
  const split = raw.indexOf('\r\n\r\n');
  const headers = raw.slice(0, split);
  const body = raw.slice(split + 4);
  if (!/^Content-Transfer-Encoding: quoted-printable$/im.test(headers)) return body;
  // The encoded body is ASCII: each =XX is one byte of the UTF-8 text.
  const bytes = body
    .replace(/=\r\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** The Subject header as a mail client shows it: unfolded, its RFC 2047 encoded words decoded. */
export function subjectOf(raw: string): string {
  const headers = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  const value = /^Subject: (.*)$/im.exec(headers)?.[1]?.trim() ?? '';
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?([QB])\?([^?]*)\?=/gi, (_, encoding: string, text: string) =>
      encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(
            text
              .replace(/_/g, ' ')
              .replace(/=([0-9A-F]{2})/gi, (_h, hex: string) =>
                String.fromCharCode(Number.parseInt(hex, 16)),
              ),
            'latin1',
          ).toString('utf8'),
    );
}

export interface MailSink {
  url: string;
  messages: CapturedMail[];
  /**
   * The latest message to `to` (waits up to a few seconds for one to arrive). With `since` (a
   * `messages.length` taken before the action), only a message that arrived after it counts;
   * with `match`, only one whose subject or text matches.
   */
  latestTo(to: string, since?: number, match?: RegExp): Promise<CapturedMail>;
  close(): Promise<void>;
}

/**
 * A real SMTP server on loopback that keeps every message it receives; on `port` when given (a
 * server that comes up where the app was already told to send).
 */
export async function startMailSink(port = 0): Promise<MailSink> {
  const messages: CapturedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const subject = subjectOf(raw);
        messages.push({
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          subject,
          text: bodyOf(raw),
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${bound}`,
    messages,
    async latestTo(to, since = 0, match) {
      const want = to.toLowerCase();
      for (let i = 0; i < 200; i++) {
        const found = messages
          .slice(since)
          .filter((m) => m.to.includes(want) && (!match || match.test(m.subject) || match.test(m.text)))
          .at(-1);
        if (found) return found;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`no email to ${to} arrived`);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
