import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parsePrivateKey, signingKeyFrom } from './platform/audit/keys.ts';
import { parseAllowlist } from './platform/outbound/addresses.ts';
import { parseSecretsKey, SECRETS_KEY_HINT } from './platform/secrets/keys.ts';

/**
 * The one place that reads the environment. Everything else receives a `Config`.
 * Defaults describe the embedded mode: one process, PGlite in `./data`, http://localhost:3000.
 */
export interface Config {
  host: string;
  port: number;
  /** Base of every link Gatehouse writes into emails and redirects. */
  publicUrl: string;
  /** Folder for the embedded database and other local files. */
  dataDir: string;
  /** PostgreSQL connection string; when absent the embedded PGlite database is used. */
  databaseUrl: string | undefined;
  databasePoolSize: number;
  logLevel: string;
  /**
   * METRICS_TOKEN: the bearer GET /metrics answers to (Prometheus text); without it the route
   * does not exist (404). Never logged.
   */
  metricsToken: string | undefined;
  /**
   * SHUTDOWN_TIMEOUT_MS: how long a SIGTERM'd instance may drain (requests under way finish,
   * claimed jobs finish or are released) before it is made to exit.
   */
  shutdownTimeoutMs: number;
  /**
   * Which peers may set X-Forwarded-For / -Proto / -Host (the client address comes from them):
   * `false` none; a number, the nearest that many hops whatever their address; a list, the peers
   * whose address is in it (addresses, CIDR ranges, or proxy-addr's `loopback`, `linklocal`,
   * `uniquelocal`). Never "everyone": that would let any client choose its own address.
   */
  trustProxy: TrustProxy;
  /** Extra origins allowed to make cookie-authenticated state changes, besides PUBLIC_URL's. */
  allowedOrigins: string[];
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  /**
   * PostgreSQL only: how often each instance checks its cache-invalidation connection. An
   * instance that hears nothing for 2.5 intervals stops using its caches until it reconnects.
   */
  cacheHeartbeatMs: number;
  /** Password hashes computed at once (argon2 is CPU-bound); default: one less than the cores. */
  passwordHashConcurrency: number;
  session: {
    /** Idle timeout: a session unused this long ends (sliding). */
    idleTimeoutMs: number;
    /** Absolute lifetime: a session ends this long after sign-in, used or not. */
    absoluteLifetimeMs: number;
    /** Live sessions one user may hold; a new one beyond it ends the oldest. */
    maxPerUser: number;
  };
  /**
   * smtp:// or smtps:// URL of the server that sends email (credentials in it, never logged);
   * when absent, messages are written to `<dataDir>/mail/` and their file paths logged.
   */
  smtpUrl: string | undefined;
  /** The From of every email, e.g. `Gatehouse <no-reply@example.com>`. */
  mailFrom: string;
  audit: {
    /** The Ed25519 private key (PKCS#8 PEM) that signs checkpoints; from AUDIT_SIGNING_KEY. */
    signingKeyPem: string | undefined;
    /** A file holding it; default `<dataDir>/audit-signing-key.pem`, generated on first start. */
    signingKeyFile: string | undefined;
    /** How often each chain that grew gets a signed checkpoint of its head. */
    checkpointIntervalMs: number;
    /** Enterprise retention (the plan's "2 y, configurable"); Free and Scale are fixed. */
    enterpriseRetentionDays: number;
    /** Retention of each user's own account log (sign-ins, password changes). */
    accountRetentionDays: number;
  };
  secrets: {
    /** The key new secrets are sealed under (AES-256), from SECRETS_KEY. Never logged. */
    key: Buffer | undefined;
    /** A file holding it; default `<dataDir>/secrets-key`, generated on first start. */
    keyFile: string | undefined;
    /** Keys that still open values sealed before a rotation, never seal new ones. */
    previousKeys: Buffer[];
  };
  outbound: {
    /**
     * OUTBOUND_ALLOWLIST: address ranges (`10.0.0.0/8`), addresses and host names (`hooks.internal`,
     * `*.corp.example`) that outbound requests (webhooks, Slack, integrations) may reach although
     * they are not public — on-premises targets. Plain http is allowed to them.
     */
    allowlist: string[];
    /** OUTBOUND_ALLOW_HTTP: plain http to public targets too (development only; default off). */
    allowHttp: boolean;
  };
  loginThrottle: {
    windowMs: number;
    maxFailuresPerAccount: number;
    maxFailuresPerIp: number;
    /** Accounts one client address may create in the window. */
    maxSignupsPerIp: number;
    /** Successful sign-ins of one account in the window. */
    maxSignInsPerAccount: number;
    /** Passkey sign-in challenges one client address may ask for in the window. */
    maxPasskeyChallengesPerIp: number;
    /** Password-reset, verification and address-change emails asked for one account in the window. */
    maxMailsPerAccount: number;
    /** The same, asked for from one client address. */
    maxMailsPerIp: number;
  };
  invitations: {
    /** Invitation emails (new, renewed and resent) one organization may send in any hour. */
    maxPerOrgPerHour: number;
    /** Times one address may be sent an invitation again (resent, invited again, after a cancel too) in any 24 hours. */
    maxResendsPerDay: number;
  };
  webhooks: {
    /**
     * Seconds to wait before each retry of a failed delivery (WEBHOOK_RETRY_SCHEDULE, comma-separated);
     * a delivery is given up after `retrySchedule.length + 1` attempts.
     */
    retrySchedule: number[];
    /** How often each instance looks for audit entries to stream to `audit.entry` webhooks (ms). */
    auditStreamIntervalMs: number;
  };
  outbox: {
    /** Whether this instance carries out outbox jobs (OUTBOX_WORKER=off: it only enqueues them). */
    worker: boolean;
    /** How often the worker looks for due jobs when no notice woke it (ms). */
    pollMs: number;
    /** Jobs one instance carries out at once. */
    concurrency: number;
    /** Days a done job (and its attempts) is kept. */
    retentionDays: number;
    /** Days a dead job is kept, for operators to look at and retry. */
    deadRetentionDays: number;
  };
  /**
   * The SMS provider for critical alerts (Enterprise): Twilio's Messages API or one shaped like
   * it. SMS is off until the account SID, auth token and sender are all set.
   */
  sms: {
    /** SMS_PROVIDER_URL, the API's base (default https://api.twilio.com). */
    providerUrl: string;
    accountSid: string | undefined;
    /** SMS_AUTH_TOKEN: never logged. */
    authToken: string | undefined;
    /** SMS_FROM: the sender, an E.164 number or a messaging service the provider knows. */
    from: string | undefined;
  };
  billing: {
    /**
     * BILLING_WEBHOOK_SECRET: what the payment provider signs its events with; several (separated
     * by commas) while one is being replaced. None: POST /api/v1/billing/provider-events answers 404.
     */
    webhookSecrets: string[];
    /** BILLING_SELLER: who issues the invoices, one entry a line (`|` separates lines). */
    sellerLines: string[];
    /** BILLING_BANK_DETAILS: where to transfer payment, printed on open invoices (`|` separates lines). */
    bankDetails: string[];
    /** How often each instance looks for subscriptions due for renewal. */
    renewalIntervalMs: number;
    /**
     * PLAN_SELECTION: `open` (an org's billing managers choose and change its plan) or `operator`
     * (only an operator sets plans, with `gatehouse operator orgs set-plan`; orgs may still change
     * their billing cycle, and are created on the free plan).
     */
    planSelection: 'open' | 'operator';
  };
  organizations: {
    /** Organizations one user may create in any 24 hours (deleted ones count). */
    maxCreatedPerUserPerDay: number;
    /** Live organizations one user may own; creating or being made owner of another is refused (409 `org_limit`). */
    maxOwnedPerUser: number;
    /**
     * Days a deleted organization's data is kept before it is purged (ORG_PURGE_GRACE_DAYS): an
     * operator may restore it until then (`gatehouse operator orgs restore`). Its audit log stays.
     */
    purgeGraceDays: number;
  };
}

export type TrustProxy = false | number | string[];

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function readInt(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

const TRUST_PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];
const MAX_PROXY_HOPS = 32;
const TRUST_PROXY_HINT =
  'give the number of reverse proxies in front of Gatehouse (e.g. TRUST_PROXY=1) ' +
  'or their addresses (e.g. TRUST_PROXY=127.0.0.1,10.0.0.0/8)';

/** True for an IP address or a CIDR range with a prefix length that is not 0. */
function isAddressOrRange(entry: string): boolean {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const family = net.isIP(address);
  if (family === 0) return false;
  if (slash === -1) return true;
  const prefix = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) >= 1 && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY: false (the default), a hop count, or a comma-separated list of proxy addresses /
 * CIDR ranges. `true` (trust every peer) is refused: with it any client could put any address in
 * X-Forwarded-For and so escape the per-address sign-in limit.
 */
function readTrustProxy(env: Env): TrustProxy {
  const raw = env.TRUST_PROXY?.trim() ?? '';
  const lower = raw.toLowerCase();
  if (['', 'false', '0', 'no', 'off'].includes(lower)) return false;
  if (['true', 'yes', 'on', 'all', '*'].includes(lower)) {
    throw new ConfigError(
      `TRUST_PROXY=${raw} is refused: it would let any client choose its own address with ` +
        `X-Forwarded-For (and so escape the per-address sign-in limit); ${TRUST_PROXY_HINT}`,
    );
  }
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops === 0) return false;
    if (hops > MAX_PROXY_HOPS) {
      throw new ConfigError(
        `TRUST_PROXY as a hop count must be between 1 and ${MAX_PROXY_HOPS}, got "${raw}"`,
      );
    }
    return hops;
  }
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new ConfigError(`TRUST_PROXY must be false or ${TRUST_PROXY_HINT}`);
  for (const entry of entries) {
    if (TRUST_PROXY_NAMES.includes(entry.toLowerCase())) continue;
    if (/\/0+$/.test(entry)) {
      throw new ConfigError(
        `TRUST_PROXY entry "${entry}" covers every address, which would let any client choose its own ` +
          `address; list only the reverse proxies' addresses`,
      );
    }
    if (!isAddressOrRange(entry)) {
      throw new ConfigError(
        `TRUST_PROXY must be false, a hop count (e.g. 1) or a comma-separated list of proxy addresses ` +
          `or CIDR ranges (e.g. 127.0.0.1,10.0.0.0/8); "${entry}" is neither an IP address nor a CIDR range`,
      );
    }
  }
  return entries.map((e) => (TRUST_PROXY_NAMES.includes(e.toLowerCase()) ? e.toLowerCase() : e));
}

function readOrigin(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must use http or https, got "${raw}"`);
  }
  return url.origin;
}

/**
 * SMTP_URL carries the SMTP password, so no message here ever repeats the value.
 */
function readSmtpUrl(env: Env): string | undefined {
  const raw = env.SMTP_URL?.trim() || undefined;
  if (raw === undefined) return undefined;
  if (!/^smtps?:\/\//i.test(raw)) {
    throw new ConfigError(
      'SMTP_URL must start with smtp:// or smtps:// (e.g. smtps://user:password@smtp.example.com)',
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(
      'SMTP_URL is not a valid URL; percent-encode special characters in the user name and password (@ is %40)',
    );
  }
  if (url.hostname === '') throw new ConfigError('SMTP_URL must name the SMTP server host');
  return raw;
}

/** AUDIT_SIGNING_KEY: PEM text; `\n` written literally (one-line environments) is accepted. */
function readSigningKey(env: Env): string | undefined {
  const raw = env.AUDIT_SIGNING_KEY?.trim();
  if (!raw) return undefined;
  const pem = raw.includes('\\n') ? raw.replaceAll('\\n', '\n') : raw;
  try {
    signingKeyFrom(parsePrivateKey(pem));
  } catch {
    throw new ConfigError(
      'AUDIT_SIGNING_KEY must be an Ed25519 private key in PKCS#8 PEM ' +
        '(openssl genpkey -algorithm ed25519)',
    );
  }
  return pem;
}

/**
 * SECRETS_KEY or SECRETS_KEY_FILE (not both: which one seals would be a guess), and
 * SECRETS_PREVIOUS_KEYS. No message repeats a key.
 */
function readSecrets(env: Env): Config['secrets'] {
  const raw = env.SECRETS_KEY?.trim() || undefined;
  const file = env.SECRETS_KEY_FILE?.trim() || undefined;
  if (raw && file) {
    throw new ConfigError('set SECRETS_KEY or SECRETS_KEY_FILE, not both');
  }
  let key: Buffer | undefined;
  if (raw) {
    try {
      key = parseSecretsKey(raw);
    } catch {
      throw new ConfigError(`SECRETS_KEY must be ${SECRETS_KEY_HINT}`);
    }
  }
  const previous = (env.SECRETS_PREVIOUS_KEYS ?? '').split(',').map((s) => s.trim());
  const previousKeys: Buffer[] = [];
  for (const [i, entry] of previous.entries()) {
    if (entry === '') continue;
    try {
      previousKeys.push(parseSecretsKey(entry));
    } catch {
      throw new ConfigError(
        `SECRETS_PREVIOUS_KEYS must be a comma-separated list of keys, each ${SECRETS_KEY_HINT}; ` +
          `entry ${i + 1} is not`,
      );
    }
  }
  return { key, keyFile: file ? path.resolve(file) : undefined, previousKeys };
}

/** The contract's schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];

/** WEBHOOK_RETRY_SCHEDULE: whole seconds, comma-separated (`0` retries at once), 1 to 20 retries. */
function readRetrySchedule(env: Env): number[] {
  const raw = env.WEBHOOK_RETRY_SCHEDULE?.trim();
  if (!raw) return [...DEFAULT_WEBHOOK_RETRY_SCHEDULE];
  const parts = raw.split(',').map((s) => s.trim());
  const delays = parts.map(Number);
  if (
    parts.length > 20 ||
    parts.some((p) => !/^\d{1,7}$/.test(p)) ||
    delays.some((d) => !Number.isInteger(d) || d > 7 * 86_400)
  ) {
    throw new ConfigError(
      `WEBHOOK_RETRY_SCHEDULE must be 1 to 20 comma-separated whole numbers of seconds, each at most 604800 (7 days), e.g. 5,300,1800; got "${raw}"`,
    );
  }
  return delays;
}

function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

/** OUTBOUND_ALLOWLIST: validated here so a typo stops the start instead of a delivery. */
function readOutboundAllowlist(env: Env): string[] {
  const entries = (env.OUTBOUND_ALLOWLIST ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  try {
    parseAllowlist(entries);
  } catch (err) {
    throw new ConfigError(`OUTBOUND_ALLOWLIST: ${(err as Error).message}`);
  }
  return entries;
}

function readSwitch(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase() ?? '';
  if (raw === '') return fallback;
  if (['on', 'true', '1', 'yes'].includes(raw)) return true;
  if (['off', 'false', '0', 'no'].includes(raw)) return false;
  throw new ConfigError(`${name} must be on or off, got "${env[name]}"`);
}

/** METRICS_TOKEN: long enough not to be guessed (the scrape endpoint shows the installation's load). */
function readMetricsToken(env: Env): string | undefined {
  const raw = env.METRICS_TOKEN?.trim() || undefined;
  if (raw !== undefined && (raw.length < 16 || !/^[\x21-\x7e]+$/.test(raw))) {
    throw new ConfigError(
      'METRICS_TOKEN must be at least 16 printable characters without spaces (e.g. openssl rand -hex 32)',
    );
  }
  return raw;
}

/** SMS_*: all of SID, token and sender, or none (SMS off); the token is never repeated. */
function readSms(env: Env): Config['sms'] {
  const raw = env.SMS_PROVIDER_URL?.trim() || 'https://api.twilio.com';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`SMS_PROVIDER_URL must be an absolute http(s) URL, got "${raw}"`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
    throw new ConfigError(
      'SMS_PROVIDER_URL must be an http(s) URL without credentials (they go in SMS_ACCOUNT_SID and SMS_AUTH_TOKEN)',
    );
  }
  const accountSid = env.SMS_ACCOUNT_SID?.trim() || undefined;
  const authToken = env.SMS_AUTH_TOKEN?.trim() || undefined;
  const from = env.SMS_FROM?.trim() || undefined;
  const set = [accountSid, authToken, from].filter((v) => v !== undefined).length;
  if (set !== 0 && set !== 3) {
    throw new ConfigError(
      'set all of SMS_ACCOUNT_SID, SMS_AUTH_TOKEN and SMS_FROM to send SMS, or none of them',
    );
  }
  return { providerUrl: url.toString().replace(/\/+$/, ''), accountSid, authToken, from };
}

export function loadConfig(env: Env = process.env): Config {
  const port = readInt(env, 'PORT', 3000, 0, 65535);
  const host = env.HOST?.trim() || 'localhost';
  const publicUrlRaw = env.PUBLIC_URL?.trim() || `http://localhost:${port}`;
  readOrigin('PUBLIC_URL', publicUrlRaw);
  const publicUrl = publicUrlRaw.replace(/\/+$/, '');
  const allowedOrigins = (env.ALLOWED_ORIGINS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((o) => readOrigin('ALLOWED_ORIGINS', o));
  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must start with postgres:// or postgresql://');
  }
  return {
    host,
    port,
    publicUrl,
    dataDir: path.resolve(env.DATA_DIR?.trim() || 'data'),
    databaseUrl,
    databasePoolSize: readInt(env, 'DATABASE_POOL_SIZE', 10, 1, 500),
    logLevel: env.LOG_LEVEL?.trim() || 'info',
    metricsToken: readMetricsToken(env),
    shutdownTimeoutMs: readInt(env, 'SHUTDOWN_TIMEOUT_MS', 25_000, 1000, 600_000),
    trustProxy: readTrustProxy(env),
    allowedOrigins,
    bodyLimit: readInt(env, 'BODY_LIMIT_BYTES', 256 * 1024, 1024, 64 * 1024 * 1024),
    cacheHeartbeatMs: readInt(env, 'CACHE_HEARTBEAT_MS', 5_000, 50, 60_000),
    passwordHashConcurrency: readInt(
      env,
      'PASSWORD_HASH_CONCURRENCY',
      Math.max(1, os.availableParallelism() - 1),
      1,
      256,
    ),
    session: {
      idleTimeoutMs: readInt(env, 'SESSION_IDLE_TIMEOUT_MINUTES', 30, 1, 7 * 24 * 60) * 60_000,
      absoluteLifetimeMs: readInt(env, 'SESSION_MAX_LIFETIME_HOURS', 24, 1, 90 * 24) * 3_600_000,
      maxPerUser: readInt(env, 'SESSION_MAX_PER_USER', 50, 1, 10_000),
    },
    smtpUrl: readSmtpUrl(env),
    mailFrom: env.MAIL_FROM?.trim() || 'Gatehouse <no-reply@localhost>',
    audit: {
      signingKeyPem: readSigningKey(env),
      signingKeyFile: env.AUDIT_SIGNING_KEY_FILE?.trim()
        ? path.resolve(env.AUDIT_SIGNING_KEY_FILE.trim())
        : undefined,
      checkpointIntervalMs: readInt(env, 'AUDIT_CHECKPOINT_INTERVAL_MINUTES', 60, 1, 24 * 60) * 60_000,
      enterpriseRetentionDays: readInt(env, 'AUDIT_RETENTION_ENTERPRISE_DAYS', 730, 30, 3650),
      accountRetentionDays: readInt(env, 'AUDIT_RETENTION_ACCOUNT_DAYS', 365, 30, 3650),
    },
    secrets: readSecrets(env),
    outbound: {
      allowlist: readOutboundAllowlist(env),
      allowHttp: readBoolean(env, 'OUTBOUND_ALLOW_HTTP', false),
    },
    loginThrottle: {
      windowMs: readInt(env, 'LOGIN_THROTTLE_WINDOW_MINUTES', 15, 1, 24 * 60) * 60_000,
      maxFailuresPerAccount: readInt(env, 'LOGIN_MAX_FAILURES_PER_ACCOUNT', 10, 1, 1000),
      maxFailuresPerIp: readInt(env, 'LOGIN_MAX_FAILURES_PER_IP', 100, 1, 100000),
      maxSignupsPerIp: readInt(env, 'SIGNUP_MAX_PER_IP', 20, 1, 100000),
      maxSignInsPerAccount: readInt(env, 'LOGIN_MAX_PER_ACCOUNT', 30, 1, 100000),
      maxPasskeyChallengesPerIp: readInt(env, 'PASSKEY_CHALLENGES_MAX_PER_IP', 300, 1, 100000),
      maxMailsPerAccount: readInt(env, 'ACCOUNT_MAIL_MAX_PER_ACCOUNT', 5, 1, 1000),
      maxMailsPerIp: readInt(env, 'ACCOUNT_MAIL_MAX_PER_IP', 30, 1, 100000),
    },
    invitations: {
      maxPerOrgPerHour: readInt(env, 'INVITATIONS_MAX_PER_ORG_PER_HOUR', 100, 1, 100000),
      maxResendsPerDay: readInt(env, 'INVITATION_MAX_RESENDS_PER_DAY', 5, 0, 1000),
    },
    webhooks: {
      retrySchedule: readRetrySchedule(env),
      auditStreamIntervalMs: readInt(env, 'WEBHOOK_AUDIT_STREAM_INTERVAL_MS', 2_000, 50, 600_000),
    },
    outbox: {
      worker: readSwitch(env, 'OUTBOX_WORKER', true),
      pollMs: readInt(env, 'OUTBOX_POLL_MS', 1000, 50, 60_000),
      concurrency: readInt(env, 'OUTBOX_CONCURRENCY', 8, 1, 256),
      retentionDays: readInt(env, 'OUTBOX_RETENTION_DAYS', 7, 1, 3650),
      deadRetentionDays: readInt(env, 'OUTBOX_DEAD_RETENTION_DAYS', 30, 1, 3650),
    },
    sms: readSms(env),
    billing: {
      webhookSecrets: (env.BILLING_WEBHOOK_SECRET ?? '')
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean),
      sellerLines: readLines(env.BILLING_SELLER, ['Gatehouse']),
      bankDetails: readLines(env.BILLING_BANK_DETAILS, []),
      renewalIntervalMs: readInt(env, 'BILLING_RENEWAL_INTERVAL_MINUTES', 15, 1, 24 * 60) * 60_000,
      planSelection: readPlanSelection(env),
    },
    organizations: {
      maxCreatedPerUserPerDay: readInt(env, 'ORGS_MAX_CREATED_PER_USER_PER_DAY', 10, 1, 100000),
      maxOwnedPerUser: readInt(env, 'ORGS_MAX_OWNED_PER_USER', 100, 1, 1000000),
      purgeGraceDays: readInt(env, 'ORG_PURGE_GRACE_DAYS', 30, 1, 3650),
    },
  };
}

/** A setting of several lines, `|` between them (an env var holds one line). */
function readLines(value: string | undefined, fallback: string[]): string[] {
  const lines = (value ?? '')
    .split('|')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.length ? lines : fallback;
}

function readPlanSelection(env: Env): 'open' | 'operator' {
  const raw = env.PLAN_SELECTION?.trim().toLowerCase() ?? '';
  if (raw === '') return 'open';
  if (raw === 'open' || raw === 'operator') return raw;
  throw new ConfigError(`PLAN_SELECTION must be open or operator, got "${env.PLAN_SELECTION}"`);
}
