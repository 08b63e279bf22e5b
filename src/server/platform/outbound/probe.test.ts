import { describe, expect, it } from 'vitest';
import { OutboundError, type OutboundResponse } from './outbound.ts';
import { answerMessage, describeFailure, describeStatus, maskSecrets, statusCode } from './probe.ts';

const answer = (body: unknown, truncated = false): OutboundResponse => ({
  status: 401,
  headers: {},
  body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  truncated,
  durationMs: 1,
  address: '127.0.0.1',
});

const KEY = 'sk-proj-0123456789abcdefghijklmnop';

describe('maskSecrets', () => {
  it('masks a secret whole, and any word quoting eight or more of its characters in a row', () => {
    expect(maskSecrets(`Incorrect API key provided: ${KEY}.`, [KEY])).toBe(
      'Incorrect API key provided: [redacted].',
    );
    expect(maskSecrets('key sk-proj-0123****mnop was refused', [KEY])).toBe('key [redacted] was refused');
    expect(maskSecrets('"456789ab" is a fragment', [KEY])).toBe('"[redacted]" is a fragment');
    // Seven in a row, and words that share nothing with it, stay.
    expect(maskSecrets('3456789 and sk-proj are fine', [KEY])).toBe('3456789 and sk-proj are fine');
  });

  it('ignores secrets too short to tell from words', () => {
    expect(maskSecrets('abc is here', ['abc'])).toBe('abc is here');
  });
});

describe('answerMessage', () => {
  it("reads the service's words, in the usual places, before a bare code", () => {
    expect(answerMessage(answer({ error: { message: 'Nope' } }), [])).toBe('Nope');
    expect(answerMessage(answer({ message: 'Bad credentials' }), [])).toBe('Bad credentials');
    expect(answerMessage(answer({ error: 'invalid_client', error_description: 'Unknown client' }), [])).toBe(
      'Unknown client',
    );
    expect(answerMessage(answer({ ok: false, error: 'invalid_auth' }), [])).toBe('invalid_auth');
    expect(answerMessage(answer({ errors: [{ message: 'Authentication required' }] }), [])).toBe(
      'Authentication required',
    );
  });

  it('is null for no JSON, a cut-off answer or no message; one short line with the secret masked otherwise', () => {
    expect(answerMessage(answer('<html>Unauthorized</html>'), [])).toBeNull();
    expect(answerMessage(answer({ message: 'x' }, true), [])).toBeNull();
    expect(answerMessage(answer({ detail: 42 }), [])).toBeNull();
    const long = answerMessage(
      answer({ message: `line one\nline\u0000two\t${KEY} ${'word '.repeat(200)}` }),
      [KEY],
    );
    expect(long).toMatch(/^line one line two \[redacted\] word/);
    expect(long!.length).toBeLessThanOrEqual(300);
    expect(long!.endsWith('…')).toBe(true);
  });
});

describe('outcomes in words', () => {
  it('gives each status its code and sentence', () => {
    expect([401, 403, 404, 429, 500, 503, 400, 302].map(statusCode)).toEqual([
      'unauthorized',
      'forbidden',
      'not_found',
      'rate_limited',
      'service_error',
      'service_error',
      'http_error',
      'http_error',
    ]);
    const words = { who: 'The provider', credential: 'the API key', notFound: 'check the base URL' };
    expect(describeStatus(401, words, 'Bad key')).toBe('The provider refused the API key (401): Bad key');
    expect(describeStatus(401, words, null)).toBe('The provider refused the API key (401).');
    expect(describeStatus(404, words, null)).toBe(
      'The provider answered 404 (not found): check the base URL.',
    );
    expect(describeStatus(302, words, null)).toContain('a redirect (redirects are not followed)');
  });

  it("names what kept a request from an answer, never the request's headers", () => {
    expect(
      describeFailure(new OutboundError('not_allowed', 'the host is a private (RFC 1918) address')),
    ).toEqual({
      code: 'url_not_allowed',
      detail: 'The address is not allowed: the host is a private (RFC 1918) address.',
    });
    expect(describeFailure(new OutboundError('timeout', 'no complete response'), 10_000)).toEqual({
      code: 'timeout',
      detail: 'No answer within 10 seconds.',
    });
    expect(describeFailure(new OutboundError('dns', 'the host name did not resolve (ENOTFOUND)')).code).toBe(
      'dns',
    );
    expect(describeFailure(new Error('anything')).code).toBe('connect');
  });
});
