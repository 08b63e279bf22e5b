import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import type { Config } from './config.ts';
import { accountLifecycleModule } from './modules/account-lifecycle/index.ts';
import { accountsModule } from './modules/accounts/index.ts';
import { aiConnectionsModule } from './modules/ai-connections/index.ts';
import { apiTokensModule } from './modules/api-tokens/index.ts';
import { applicationsModule } from './modules/applications/index.ts';
import { auditLogModule } from './modules/audit-log/index.ts';
import { billingModule } from './modules/billing/index.ts';
import { consoleModule } from './modules/console/index.ts';
import { findingsModule } from './modules/findings/index.ts';
import { healthModule } from './modules/health/index.ts';
import { integrationsModule } from './modules/integrations/index.ts';
import { invitationsModule } from './modules/invitations/index.ts';
import { mcpModule } from './modules/mcp/index.ts';
import { alertOwnersOfPromotion, membersModule } from './modules/members/index.ts';
import { notificationsModule } from './modules/notifications/index.ts';
import { orgDataModule } from './modules/org-data/index.ts';
import { organizationsModule, orgsRequiringTwoFactor } from './modules/organizations/index.ts';
import { policiesModule } from './modules/policies/index.ts';
import { quotaModule } from './modules/quota/index.ts';
import { reportsModule } from './modules/reports/index.ts';
import { findRoleById, rolesModule } from './modules/roles/index.ts';
import { scansModule } from './modules/scans/index.ts';
import { scimModule } from './modules/scim/index.ts';
import { setupModule } from './modules/setup/index.ts';
import { ssoModule } from './modules/sso/index.ts';
import { webhooksModule } from './modules/webhooks/index.ts';
import { type AccessResolver, createAccessResolver } from './platform/access/access.ts';
import { deniedRecorder } from './platform/audit/denied.ts';
import { loadSigningKey } from './platform/audit/keys.ts';
import { AuditLog } from './platform/audit/log.ts';
import { installAuthentication } from './platform/auth/authenticate.ts';
import { setPasswordHashingConcurrency, warmUpPasswordHashing } from './platform/auth/passwords.ts';
import {
  type SessionEntry,
  SessionService,
  type SessionUser,
  sessionCookieName,
} from './platform/auth/sessions.ts';
import { TOKENS_CACHE, type TokenEntry, TokenService } from './platform/auth/tokens.ts';
import { createInvalidationBus, InvalidatingCache, type InvalidationBus } from './platform/cache/cache.ts';
import { CommandRunner } from './platform/command.ts';
import type { Database } from './platform/db/client.ts';
import { ValidationError } from './platform/errors/app-error.ts';
import {
  clientErrorHandler,
  frameworkErrorHandler,
  installErrorHandling,
} from './platform/errors/error-handler.ts';
import { Drain } from './platform/http/drain.ts';
import { redactUrl } from './platform/http/redact.ts';
import { installRoutePolicy, type RouteInventoryEntry } from './platform/http/route-policy.ts';
import { ProblemSchema } from './platform/http/schemas.ts';
import { findUnsafeText, schemaController } from './platform/http/validation.ts';
import { serializeError } from './platform/log/serialize-error.ts';
import { createMailer, type Mailer } from './platform/mail/mailer.ts';
import { emailHandler } from './platform/mail/queue.ts';
import { installMetrics, Metrics } from './platform/metrics/metrics.ts';
import { createOutbound, type OutboundLookup } from './platform/outbound/client.ts';
import type { Outbound } from './platform/outbound/outbound.ts';
import { OUTBOX_WAKE_TOPIC, OutboxWorker } from './platform/outbox/index.ts';
import { loadSecrets, type Secrets } from './platform/secrets/secrets.ts';

/** What every module may use. Built once per app. */
export interface AppContext {
  config: Config;
  database: Database;
  bus: InvalidationBus;
  commands: CommandRunner;
  sessions: SessionService;
  tokens: TokenService;
  access: AccessResolver;
  mailer: Mailer;
  audit: AuditLog;
  /**
   * This instance's outbox worker: modules register their job handlers (`register`) and event
   * subscribers (`subscribe`) on it when they are registered; it starts once the app is ready.
   */
  outbox: OutboxWorker;
  /** Seals and opens secrets stored in the database (AES-256-GCM under SECRETS_KEY). */
  secrets: Secrets;
  /**
   * The one HTTP client for user-supplied URLs (the SSRF guard): `check` a URL when it is
   * submitted, `request` it when delivering. Nothing else may fetch a user's URL.
   */
  outbound: Outbound;
  routes: RouteInventoryEntry[];
  /** This instance's metrics (GET /metrics with METRICS_TOKEN); modules count what they own. */
  metrics: Metrics;
  /** Draining after SIGTERM: /readyz answers 503, new requests are turned away. */
  drain: Drain;
  /**
   * Checks the signed-in caller's password, re-entered before a sensitive step (throttled per
   * account; 400 when wrong). Provided by the accounts module.
   */
  confirmPassword(request: FastifyRequest, password: string): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    gatehouse: AppContext;
  }
}

export interface BuildOptions {
  config: Config;
  database: Database;
  /** Where logs go (tests capture them); defaults to stdout. */
  logStream?: Writable;
  /** Turn request logging off (benchmarks). */
  quiet?: boolean;
  /**
   * Benchmarks only: run commands without writing their audit entries, to measure what the audit
   * costs. Not reachable from configuration.
   */
  unaudited?: boolean;
  /** Tests only: the resolver outbound requests use instead of the system's (DNS rebinding tests). */
  outboundLookup?: OutboundLookup;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export async function buildApp(options: BuildOptions): Promise<FastifyInstance> {
  const { config, database } = options;
  const app = Fastify({
    logger: {
      level: options.quiet ? 'warn' : config.logLevel,
      ...(options.logStream ? { stream: options.logStream } : {}),
      // Defence in depth: request bodies are never logged, and these never either.
      redact: {
        paths: [
          'req.headers.cookie',
          'req.headers.authorization',
          'res.headers["set-cookie"]',
          '*.password',
          '*.currentPassword',
          '*.newPassword',
          '*.token',
          '*.apiKey',
          '*.secret',
        ],
        censor: '[redacted]',
      },
      // Every error in every log line goes through one serializer (child loggers inherit it):
      // no call site can print a failed query's parameters.
      serializers: {
        err: serializeError,
        error: serializeError,
        req: (req) => ({
          method: req.method,
          url: redactUrl(req.url),
          remoteAddress: req.ip,
        }),
      },
    },
    logController: new LogController({
      disableRequestLogging: options.quiet === true,
      requestIdLogLabel: 'requestId',
    }),
    trustProxy:
      typeof config.trustProxy === 'number'
        ? (_address: string, hop: number) => hop < (config.trustProxy as number)
        : config.trustProxy,
    bodyLimit: config.bodyLimit,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    // Paths are matched exactly as written; duplicate slashes are not folded into another route.
    routerOptions: { maxParamLength: 200, caseSensitive: true, ignoreTrailingSlash: false },
    forceCloseConnections: true,
    // Errors raised before any hook runs (bad %-encoding, over-long parameters, unparsable HTTP)
    // are problem documents too.
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
    schemaController,
  });

  installErrorHandling(app);
  // First of the request hooks: a draining instance turns requests away before any other work.
  const drain = new Drain();
  drain.install(app);
  const routes = installRoutePolicy(app);
  app.addSchema(ProblemSchema);

  const logError = (err: unknown, msg: string) => app.log.error({ err }, msg);
  const bus = await createInvalidationBus(
    database,
    config.databaseUrl,
    (msg, err) => app.log.warn(err ? { err } : {}, msg),
    { heartbeatMs: config.cacheHeartbeatMs },
  );
  const sessionCache = new InvalidatingCache<SessionEntry>('sessions', bus, {
    max: 100_000,
    ttlMs: 5 * 60_000,
  });
  const userCache = new InvalidatingCache<SessionUser>('users', bus, { max: 100_000, ttlMs: 5 * 60_000 });
  const access = createAccessResolver(database.db, bus, logError);
  // Organizations may end their members' idle sessions sooner than the installation does.
  const sessions = new SessionService(database.db, sessionCache, userCache, config.session, logError, access);
  const tokens = new TokenService(
    database.db,
    new InvalidatingCache<TokenEntry>(TOKENS_CACHE, bus, { max: 100_000, ttlMs: 5 * 60_000 }),
    logError,
  );
  // The last usage entries are written before the database is let go.
  app.addHook('onClose', async () => tokens.close());
  const mailer = createMailer({
    smtpUrl: config.smtpUrl,
    from: config.mailFrom,
    dataDir: config.dataDir,
    log: {
      info: (obj, msg) => app.log.info(obj, msg),
      warn: (obj, msg) => app.log.warn(obj, msg),
    },
  });
  // Sends of jobs released at shutdown are abandoned: another instance sends them again.
  app.addHook('onClose', async () => mailer.close({ abandon: outbox.released }));
  const audit = new AuditLog(
    database,
    loadSigningKey({
      pem: config.audit.signingKeyPem,
      file: config.audit.signingKeyFile,
      dataDir: config.dataDir,
    }),
    logError,
  );
  app.addHook('onClose', async () => audit.close());
  const secrets = loadSecrets({
    key: config.secrets.key,
    file: config.secrets.keyFile,
    previousKeys: config.secrets.previousKeys,
    dataDir: config.dataDir,
  });
  const outbound = createOutbound({
    allowlist: config.outbound.allowlist,
    allowHttp: config.outbound.allowHttp,
    ...(options.outboundLookup ? { lookup: options.outboundLookup } : {}),
  });
  const metrics = new Metrics({
    database,
    auditAppended: () => audit.appended,
    cacheLookups: function* () {
      for (const cache of bus.caches()) yield { name: cache.name, hits: cache.hits, misses: cache.misses };
    },
  });
  const outbox = new OutboxWorker(database, {
    pollMs: config.outbox.pollMs,
    concurrency: config.outbox.concurrency,
    retention: { doneDays: config.outbox.retentionDays, deadDays: config.outbox.deadRetentionDays },
    log: {
      warn: (obj, msg) => app.log.warn(obj, msg),
      error: (obj, msg) => app.log.error(obj, msg),
    },
    onAttempt: (kind, outcome) => metrics.outboxAttempt(kind, outcome),
  });
  outbox.register(emailHandler(mailer, secrets));
  // Jobs committed by any instance wake this one's worker (PostgreSQL; polling stays the fallback).
  bus.onWake(OUTBOX_WAKE_TOPIC, () => outbox.wake());
  // OUTBOX_WORKER=off: this instance enqueues and serves, and leaves the jobs to the others.
  if (config.outbox.worker) app.addHook('onReady', async () => outbox.start());
  // Before the audit log and the mailer close (onClose): the attempts under way finish first.
  app.addHook('preClose', async () => outbox.stop());
  const commands = new CommandRunner(
    database,
    bus,
    { sessions, secrets, audit, outbox, alertPromotion: alertOwnersOfPromotion },
    // The benchmark's baseline writes the change alone, to measure what the audit costs.
    options.unaudited ? { entryFor: audit.entryFor.bind(audit), append: async () => [] } : audit,
    logError,
  );
  const recordDenied = deniedRecorder(
    audit,
    logError,
    async (orgId, roleId) => (await findRoleById(database.db, orgId, roleId))?.name,
  );
  commands.setDeniedRecorder(recordDenied);
  app.decorate('gatehouse', {
    config,
    database,
    bus,
    commands,
    sessions,
    tokens,
    access,
    mailer,
    audit,
    outbox,
    secrets,
    outbound,
    routes,
    metrics,
    drain,
    confirmPassword: async () => {
      throw new Error('the accounts module is not registered');
    },
  });
  setPasswordHashingConcurrency(config.passwordHashConcurrency);
  warmUpPasswordHashing();
  // Before any route is registered: every route, the reference UI's included, gets its hook.
  installAuthentication(app, {
    sessions,
    tokens,
    access,
    allowedOrigins: new Set([new URL(config.publicUrl).origin, ...config.allowedOrigins]),
    sessionCookie: sessionCookieName(config.publicUrl),
    onDenied: recordDenied,
  });
  installMetrics(app, metrics, config.metricsToken);

  const apiHeaders = {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  };
  const otherHeaders = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.headers(request.url.startsWith('/api/') ? apiHeaders : otherHeaders);
  });
  // Text PostgreSQL cannot store (NUL) or that no identity system should (lone surrogates,
  // control characters) is refused before any handler sees it.
  app.addHook('preValidation', async (request) => {
    for (const [part, value] of [
      ['body', request.body],
      ['querystring', request.query],
      ['params', request.params],
    ] as const) {
      const pointer = findUnsafeText(value);
      if (pointer)
        throw new ValidationError([
          {
            field: `/${part}${pointer === '/' ? '' : pointer}`,
            message: 'contains characters that are not allowed',
          },
        ]);
    }
  });
  app.addHook('onClose', async () => {
    await bus.close();
  });

  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse API',
        version: '1',
        description: 'Organizations, members, roles, SSO, tokens and a tamper-evident audit log.',
      },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: sessionCookieName(config.publicUrl) },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (json.$id as string) ?? `def-${i}` },
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    // The reference UI's own policy (its inline scripts by hash), but never framed by any page
    // (clickjacking) and without upgrade-insecure-requests, which would break it on plain http.
    staticCSP: true,
    transformStaticCSP: (header) =>
      header
        .replace("frame-ancestors 'self'", "frame-ancestors 'none'")
        .replace(/\s*upgrade-insecure-requests;?/, ''),
    uiHooks: {
      onRequest: async (_request, reply) => {
        reply.header('x-frame-options', 'DENY');
      },
    },
  });

  await app.register(healthModule);
  await app.register(rolesModule);
  await app.register(accountsModule, { orgsRequiringTwoFactor });
  await app.register(organizationsModule);
  await app.register(membersModule);
  await app.register(invitationsModule);
  await app.register(auditLogModule);
  await app.register(apiTokensModule);
  await app.register(accountLifecycleModule);
  await app.register(policiesModule);
  await app.register(applicationsModule);
  await app.register(scansModule);
  await app.register(quotaModule);
  await app.register(billingModule);
  await app.register(findingsModule);
  await app.register(webhooksModule);
  await app.register(mcpModule);
  await app.register(notificationsModule);
  await app.register(ssoModule);
  await app.register(scimModule);
  await app.register(aiConnectionsModule);
  await app.register(integrationsModule);
  await app.register(setupModule);
  await app.register(orgDataModule);
  await app.register(reportsModule);
  // Last: the console answers the GETs no API route took.
  await app.register(consoleModule);

  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  const purge = setInterval(() => {
    sessions.purgeExpired().catch((err) => logError(err, 'session housekeeping failed'));
  }, 10 * 60_000);
  purge.unref();
  app.addHook('onClose', async () => clearInterval(purge));

  return app;
}
