import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

const trustProxy = (value: string | undefined) => loadConfig({ TRUST_PROXY: value }).trustProxy;

describe('TRUST_PROXY', () => {
  it('is off by default and for false-like values', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    for (const value of ['', ' ', 'false', 'FALSE', 'no', 'off', '0']) expect(trustProxy(value)).toBe(false);
  });

  it('takes a hop count', () => {
    expect(trustProxy('1')).toBe(1);
    expect(trustProxy(' 2 ')).toBe(2);
    expect(trustProxy('32')).toBe(32);
  });

  it('takes a comma-separated list of proxy addresses and CIDR ranges', () => {
    expect(trustProxy('127.0.0.1,10.0.0.0/8')).toEqual(['127.0.0.1', '10.0.0.0/8']);
    expect(trustProxy(' ::1 , fd00::/8, 192.168.1.10/32 ,')).toEqual(['::1', 'fd00::/8', '192.168.1.10/32']);
    expect(trustProxy('Loopback,uniquelocal')).toEqual(['loopback', 'uniquelocal']);
  });

  it('refuses true, which would let any client choose its own address, naming the alternatives', () => {
    for (const value of ['true', 'TRUE', 'yes', 'on']) {
      expect(() => trustProxy(value)).toThrow(ConfigError);
      expect(() => trustProxy(value)).toThrow(/TRUST_PROXY=\S+ is refused/);
      expect(() => trustProxy(value)).toThrow(/TRUST_PROXY=1\b.*TRUST_PROXY=127\.0\.0\.1,10\.0\.0\.0\/8/);
    }
  });

  it('refuses a range covering every address', () => {
    for (const value of ['0.0.0.0/0', '::/0', '127.0.0.1,10.0.0.0/00']) {
      expect(() => trustProxy(value)).toThrow(ConfigError);
      expect(() => trustProxy(value)).toThrow(/covers every address/);
    }
  });

  it('refuses anything else with a message naming the offending entry', () => {
    expect(() => trustProxy('33')).toThrow(/hop count must be between 1 and 32, got "33"/);
    for (const [value, entry] of [
      ['proxy.internal', 'proxy.internal'],
      ['127.0.0.1,10.0.0.0/33', '10.0.0.0/33'],
      ['fd00::/129', 'fd00::/129'],
      ['10.0.0.0/8/8', '10.0.0.0/8/8'],
      ['-1', '-1'],
      ['1.5', '1.5'],
      ['10.0.0.0/255.0.0.0', '10.0.0.0/255.0.0.0'],
    ]) {
      expect(() => trustProxy(value)).toThrow(ConfigError);
      expect(() => trustProxy(value)).toThrow(`"${entry}" is neither an IP address nor a CIDR range`);
    }
    expect(() => trustProxy(',')).toThrow(/TRUST_PROXY must be false or give the number of reverse proxies/);
  });
});

describe('SMTP_URL', () => {
  it('is absent by default, which writes emails to the data folder', () => {
    expect(loadConfig({}).smtpUrl).toBeUndefined();
    expect(loadConfig({ SMTP_URL: '  ' }).smtpUrl).toBeUndefined();
  });

  it('takes an smtp:// or smtps:// URL as given', () => {
    expect(loadConfig({ SMTP_URL: 'smtp://127.0.0.1:2525' }).smtpUrl).toBe('smtp://127.0.0.1:2525');
    expect(loadConfig({ SMTP_URL: ' smtps://user:p%40ss@smtp.example.com ' }).smtpUrl).toBe(
      'smtps://user:p%40ss@smtp.example.com',
    );
  });

  it('refuses anything else without repeating the value, which may hold the password', () => {
    for (const value of [
      'https://user:hunter2secret@smtp.example.com',
      'smtp:/user:hunter2secret@smtp.example.com',
      'user:hunter2secret@smtp.example.com',
      'smtp://user:hunter2secret/x@smtp.example.com:587',
      'smtp://user:hunter2secret@',
      'smtp://',
    ]) {
      expect(() => loadConfig({ SMTP_URL: value })).toThrow(ConfigError);
      expect(() => loadConfig({ SMTP_URL: value })).toThrow(/^SMTP_URL /);
      expect(() => loadConfig({ SMTP_URL: value })).not.toThrow(/hunter2secret/);
    }
    expect(() => loadConfig({ SMTP_URL: 'http://smtp.example.com' })).toThrow(
      /SMTP_URL must start with smtp:\/\/ or smtps:\/\//,
    );
  });
});

describe('SMS_*', () => {
  it('is off by default, with Twilio as the provider', () => {
    expect(loadConfig({}).sms).toEqual({
      providerUrl: 'https://api.twilio.com',
      accountSid: undefined,
      authToken: undefined,
      from: undefined,
    });
  });

  it('takes a provider, an account, its token and a sender together', () => {
    const sms = loadConfig({
      SMS_PROVIDER_URL: 'https://sms.internal.example/',
      SMS_ACCOUNT_SID: 'AC1',
      SMS_AUTH_TOKEN: 'tok',
      SMS_FROM: '+15005550006',
    }).sms;
    expect(sms).toEqual({
      providerUrl: 'https://sms.internal.example',
      accountSid: 'AC1',
      authToken: 'tok',
      from: '+15005550006',
    });
  });

  it('refuses some without the others, and a provider URL that is not http(s) or carries credentials', () => {
    expect(() => loadConfig({ SMS_ACCOUNT_SID: 'AC1', SMS_AUTH_TOKEN: 'sekrit-token' })).toThrow(
      /all of SMS_ACCOUNT_SID, SMS_AUTH_TOKEN and SMS_FROM/,
    );
    expect(() => loadConfig({ SMS_ACCOUNT_SID: 'AC1', SMS_AUTH_TOKEN: 'sekrit-token' })).not.toThrow(
      /sekrit/,
    );
    expect(() => loadConfig({ SMS_PROVIDER_URL: 'ftp://sms.example' })).toThrow(ConfigError);
    expect(() => loadConfig({ SMS_PROVIDER_URL: 'https://AC1:tok@api.twilio.com' })).toThrow(
      /without credentials/,
    );
    expect(() => loadConfig({ SMS_PROVIDER_URL: 'not a url' })).toThrow(/SMS_PROVIDER_URL/);
  });
});

describe('MAIL_FROM', () => {
  it('defaults to a no-reply address and takes any other', () => {
    expect(loadConfig({}).mailFrom).toBe('Gatehouse <no-reply@localhost>');
    expect(loadConfig({ MAIL_FROM: '' }).mailFrom).toBe('Gatehouse <no-reply@localhost>');
    expect(loadConfig({ MAIL_FROM: ' Acme Access <access@acme.example> ' }).mailFrom).toBe(
      'Acme Access <access@acme.example>',
    );
  });
});

describe('OUTBOX_*', () => {
  it('runs the worker by default, polling every second, eight jobs at once, keeping done jobs 7 days and dead 30', () => {
    expect(loadConfig({}).outbox).toEqual({
      worker: true,
      pollMs: 1000,
      concurrency: 8,
      retentionDays: 7,
      deadRetentionDays: 30,
    });
  });

  it('takes OUTBOX_WORKER=off (an instance that only enqueues) and the other settings', () => {
    expect(
      loadConfig({
        OUTBOX_WORKER: 'off',
        OUTBOX_POLL_MS: '250',
        OUTBOX_CONCURRENCY: '2',
        OUTBOX_RETENTION_DAYS: '3',
        OUTBOX_DEAD_RETENTION_DAYS: '90',
      }).outbox,
    ).toEqual({ worker: false, pollMs: 250, concurrency: 2, retentionDays: 3, deadRetentionDays: 90 });
    expect(loadConfig({ OUTBOX_WORKER: ' On ' }).outbox.worker).toBe(true);
  });

  it('refuses values it cannot read, naming the setting', () => {
    expect(() => loadConfig({ OUTBOX_WORKER: 'sometimes' })).toThrow(/^OUTBOX_WORKER must be on or off/);
    expect(() => loadConfig({ OUTBOX_POLL_MS: '0' })).toThrow(/^OUTBOX_POLL_MS must be an integer/);
    expect(() => loadConfig({ OUTBOX_CONCURRENCY: 'many' })).toThrow(
      /^OUTBOX_CONCURRENCY must be an integer/,
    );
  });
});

describe('webhook settings', () => {
  it("defaults to the contract's retry schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h", () => {
    expect(loadConfig({}).webhooks).toEqual({
      retrySchedule: [5, 300, 1800, 7200, 18_000, 36_000, 36_000],
      auditStreamIntervalMs: 2000,
    });
  });

  it('takes WEBHOOK_RETRY_SCHEDULE as comma-separated seconds (0: at once)', () => {
    expect(loadConfig({ WEBHOOK_RETRY_SCHEDULE: '0, 0,1' }).webhooks.retrySchedule).toEqual([0, 0, 1]);
    expect(loadConfig({ WEBHOOK_AUDIT_STREAM_INTERVAL_MS: '100' }).webhooks.auditStreamIntervalMs).toBe(100);
  });

  it('refuses a schedule it cannot read, naming the setting', () => {
    for (const raw of ['soon', '5,,10', '-1', '1.5', '5,999999999', Array(21).fill('1').join(',')]) {
      expect(() => loadConfig({ WEBHOOK_RETRY_SCHEDULE: raw }), raw).toThrow(
        /^WEBHOOK_RETRY_SCHEDULE must be/,
      );
    }
  });
});
