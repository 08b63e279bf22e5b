import os from 'node:os';
import path from 'node:path';

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
  /** Trust X-Forwarded-* headers (set when running behind a reverse proxy). */
  trustProxy: boolean;
  /** Extra origins allowed to make cookie-authenticated state changes, besides PUBLIC_URL's. */
  allowedOrigins: string[];
  /** Largest accepted request body, in bytes. */
  bodyLimit: number;
  /** Password hashes computed at once (argon2 is CPU-bound); default: one less than the cores. */
  passwordHashConcurrency: number;
  session: {
    /** Idle timeout: a session unused this long ends (sliding). */
    idleTimeoutMs: number;
    /** Absolute lifetime: a session ends this long after sign-in, used or not. */
    absoluteLifetimeMs: number;
  };
  loginThrottle: {
    windowMs: number;
    maxFailuresPerAccount: number;
    maxFailuresPerIp: number;
    /** Accounts one client address may create in the window. */
    maxSignupsPerIp: number;
  };
}

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

function readBool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
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
    trustProxy: readBool(env, 'TRUST_PROXY', false),
    allowedOrigins,
    bodyLimit: readInt(env, 'BODY_LIMIT_BYTES', 256 * 1024, 1024, 64 * 1024 * 1024),
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
    },
    loginThrottle: {
      windowMs: readInt(env, 'LOGIN_THROTTLE_WINDOW_MINUTES', 15, 1, 24 * 60) * 60_000,
      maxFailuresPerAccount: readInt(env, 'LOGIN_MAX_FAILURES_PER_ACCOUNT', 10, 1, 1000),
      maxFailuresPerIp: readInt(env, 'LOGIN_MAX_FAILURES_PER_IP', 100, 1, 100000),
      maxSignupsPerIp: readInt(env, 'SIGNUP_MAX_PER_IP', 20, 1, 100000),
    },
  };
}
