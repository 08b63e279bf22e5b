import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig } from '../server/config.ts';
import type { AuditVerifyOptions } from './audit-verify.ts';
import { UsageError } from './operator.ts';
import type { ScanUploadOptions } from './scan-upload.ts';

function fail(err: unknown): never {
  process.stderr.write(`gatehouse: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof ConfigError || err instanceof UsageError ? 2 : 1);
}

export function buildCli(): Command {
  const program = new Command('gatehouse')
    .description('Gatehouse: organizations, members, roles, SSO, tokens and a tamper-evident audit log.')
    .showHelpAfterError();

  program
    .command('serve')
    .description(
      'Start the server (embedded database unless DATABASE_URL is set); applies pending migrations first',
    )
    .action(async () => {
      const config = loadConfig();
      // Each command loads only what it uses: `audit verify` starts without the server's code.
      const { startServer } = await import('../server/main.ts');
      const server = await startServer(config);
      const where = config.databaseUrl ? 'PostgreSQL' : `the embedded database in ${config.dataDir}`;
      server.app.log.info(
        `Gatehouse is listening on ${server.url} (public URL ${config.publicUrl}), using ${where}`,
      );
      // SIGTERM (or SIGINT): drain, then exit 0. A second signal, or a drain that outlasts
      // SHUTDOWN_TIMEOUT_MS, makes it exit 1 at once.
      let signals = 0;
      const stop = (signal: NodeJS.Signals) => {
        if (++signals > 1) {
          server.app.log.warn(`${signal} again: exiting without finishing the drain`);
          process.exit(1);
        }
        server.app.log.info(`${signal}: draining (at most ${config.shutdownTimeoutMs} ms), then exiting`);
        setTimeout(() => {
          server.app.log.error(
            `the drain outlasted SHUTDOWN_TIMEOUT_MS (${config.shutdownTimeoutMs} ms): exiting now`,
          );
          process.exit(1);
        }, config.shutdownTimeoutMs).unref();
        // Claimed jobs and requests get until shortly before the deadline; closing takes the rest.
        const graceMs = Math.max(config.shutdownTimeoutMs / 2, config.shutdownTimeoutMs - 5000);
        server.shutdown(graceMs).then(
          () => process.exit(0),
          (err) => {
            server.app.log.error({ err }, 'shutting down failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });

  program
    .command('migrate')
    .description('Apply pending database migrations and exit')
    .option(
      '--check',
      'apply nothing: list the pending migrations and exit 1 when there are some, 0 when none, 2 on error (the database unreachable)',
    )
    .action(async (options: { check?: boolean }) => {
      const config = loadConfig();
      if (options.check) {
        const { runMigrateCheck } = await import('./migrate-check.ts');
        process.exitCode = await runMigrateCheck(config);
        return;
      }
      const { openDatabase } = await import('../server/platform/db/client.ts');
      const { migrateDatabase } = await import('../server/platform/db/migrate.ts');
      const database = await openDatabase({
        databaseUrl: config.databaseUrl,
        dataDir: config.dataDir,
        poolSize: 2,
      });
      try {
        await migrateDatabase(database);
        process.stdout.write('migrations applied\n');
      } finally {
        await database.close();
      }
    });

  const secrets = program.command('secrets').description('Secrets stored encrypted in the database');
  secrets
    .command('rotate')
    .description(
      'Re-encrypt every stored secret under SECRETS_KEY; values sealed under SECRETS_PREVIOUS_KEYS are opened with them. Safe while the server runs (PostgreSQL) and to run again',
    )
    .option(
      '--batch-size <n>',
      'values re-sealed per transaction',
      (value: string) => {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1 || n > 10_000) {
          throw new InvalidArgumentError('an integer between 1 and 10000');
        }
        return n;
      },
      500,
    )
    .action(async (options: { batchSize: number }) => {
      const config = loadConfig();
      const { runSecretsRotate } = await import('./secrets-rotate.ts');
      process.exitCode = await runSecretsRotate(config, options);
    });

  const operator = program
    .command('operator')
    .description(
      "The installation's operators, on the server's own database (as `migrate` reaches it): organizations and accounts. Every change needs --reason and is recorded in the audit log with actor operator",
    );
  const orgs = operator.command('orgs').description('Organizations of the whole installation');
  orgs
    .command('list')
    .description(
      'Every live organization: slug, name, plan, members, suspended, created; with --deleted, the deleted ones not yet purged: id, slug, name, deleted, purged after',
    )
    .option('--deleted', 'deleted organizations still within their grace period (ORG_PURGE_GRACE_DAYS)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean; deleted?: boolean }) => {
      const { runOperatorOrgsList } = await import('./operator-commands.ts');
      await runOperatorOrgsList(loadConfig(), options);
    });
  const reasonOption = ['--reason <text>', 'why (required; kept in the audit entry)'] as const;
  orgs
    .command('suspend')
    .description(
      'Suspend an organization: its members and tokens get 403 org_suspended on every route of it until unsuspended',
    )
    .argument('<slug>')
    .option(...reasonOption)
    .action(async (slug: string, options: { reason?: string }) => {
      const { runOperatorOrgWrite } = await import('./operator-commands.ts');
      await runOperatorOrgWrite(loadConfig(), 'suspend', slug, options);
    });
  orgs
    .command('unsuspend')
    .description('Lift a suspension')
    .argument('<slug>')
    .option(...reasonOption)
    .action(async (slug: string, options: { reason?: string }) => {
      const { runOperatorOrgWrite } = await import('./operator-commands.ts');
      await runOperatorOrgWrite(loadConfig(), 'unsuspend', slug, options);
    });
  orgs
    .command('delete')
    .description(
      "Delete an organization as its Owner would: every member's access ends, its tokens are revoked, the slug is free; the data stays ORG_PURGE_GRACE_DAYS (restore brings it back meanwhile), then is purged",
    )
    .argument('<slug>')
    .option(...reasonOption)
    .action(async (slug: string, options: { reason?: string }) => {
      const { runOperatorOrgWrite } = await import('./operator-commands.ts');
      await runOperatorOrgWrite(loadConfig(), 'delete', slug, options);
    });
  orgs
    .command('restore')
    .description(
      "Bring back an organization deleted less than ORG_PURGE_GRACE_DAYS ago: its members' access returns, its data as it was (its API tokens stay revoked). Refused when its slug was taken meanwhile, unless --slug names another",
    )
    .argument('<id|slug>', 'the organization, by id or by the slug it had (`orgs list --deleted`)')
    .option('--slug <slug>', 'restore it under this slug (when its own was taken meanwhile)')
    .option(...reasonOption)
    .action(async (org: string, options: { reason?: string; slug?: string }) => {
      const { runOperatorOrgRestore } = await import('./operator-commands.ts');
      await runOperatorOrgRestore(loadConfig(), org, options);
    });
  orgs
    .command('set-plan')
    .description('Move an organization to another plan of the catalog (free, pro, enterprise)')
    .argument('<slug>')
    .argument('<plan>')
    .option(...reasonOption)
    .action(async (slug: string, plan: string, options: { reason?: string }) => {
      const { runOperatorOrgWrite } = await import('./operator-commands.ts');
      await runOperatorOrgWrite(loadConfig(), 'set-plan', slug, { ...options, plan });
    });
  const users = operator.command('users').description('Accounts of the whole installation');
  users
    .command('list')
    .description('Every account: email, name, organizations, disabled, created')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { runOperatorUsersList } = await import('./operator-commands.ts');
      await runOperatorUsersList(loadConfig(), options);
    });
  users
    .command('disable')
    .description(
      'Disable an account: its sessions end, its personal tokens are refused (not revoked) and sign-in is refused as a wrong password is',
    )
    .argument('<email>')
    .option(...reasonOption)
    .action(async (email: string, options: { reason?: string }) => {
      const { runOperatorUserWrite } = await import('./operator-commands.ts');
      await runOperatorUserWrite(loadConfig(), 'disable', email, options);
    });
  users
    .command('enable')
    .description('Enable a disabled account: sign-in and its personal tokens work again')
    .argument('<email>')
    .option(...reasonOption)
    .action(async (email: string, options: { reason?: string }) => {
      const { runOperatorUserWrite } = await import('./operator-commands.ts');
      await runOperatorUserWrite(loadConfig(), 'enable', email, options);
    });
  users
    .command('reset-2fa')
    .description(
      'Turn off the two-factor authentication of an account whose owner lost their authenticator and recovery codes: its secret and recovery codes are deleted and its sessions end',
    )
    .argument('<email>')
    .option(...reasonOption)
    .action(async (email: string, options: { reason?: string }) => {
      const { runOperatorUserWrite } = await import('./operator-commands.ts');
      await runOperatorUserWrite(loadConfig(), 'reset-2fa', email, options);
    });

  const plans = operator.command('plans').description('The plan catalog and what scan modules cost');
  plans
    .command('show')
    .description('Every plan with its tokens per month and members, and the tokens each scan module costs')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { runOperatorPlansShow } = await import('./operator-commands.ts');
      await runOperatorPlansShow(loadConfig(), options);
    });
  plans
    .command('set-module-cost')
    .description(
      'Set the tokens one scan module (dependencies, sast, secrets, api) costs, for every organization; scans already made keep what they cost',
    )
    .argument('<module>')
    .argument('<tokens>')
    .option(...reasonOption)
    .action(async (module: string, tokens: string, options: { reason?: string }) => {
      const { runOperatorSetModuleCost } = await import('./operator-commands.ts');
      await runOperatorSetModuleCost(loadConfig(), module, tokens, options);
    });

  const outbox = program
    .command('outbox')
    .description(
      "Work the servers carry out after a change commits (emails; later webhook deliveries): what was given up, and trying it again. On the server's own database, as `operator` reaches it",
    );
  outbox
    .command('list')
    .description(
      'Outbox jobs, the most recent first: id, kind, state (pending, done, dead), attempts, organization, when, last error',
    )
    .option('--dead', 'only the jobs given up (their attempts spent, or refused for good)')
    .option('--state <state>', 'only jobs in this state: pending, done or dead')
    .option('--kind <kind>', 'only jobs of this kind (email.send, event.dispatch, ...)')
    .option('--limit <n>', 'at most this many (default 100)')
    .option('--json', 'print JSON')
    .action(
      async (options: { dead?: boolean; state?: string; kind?: string; limit?: string; json?: boolean }) => {
        const { runOutboxList } = await import('./operator-commands.ts');
        await runOutboxList(loadConfig(), options);
      },
    );
  outbox
    .command('retry')
    .description(
      'Make a dead job due again: one more attempt (a failure leaves it dead). Recorded in the audit log with actor operator',
    )
    .argument('<id>', 'the job, as `gatehouse outbox list --dead` shows it')
    .option(...reasonOption)
    .action(async (id: string, options: { reason?: string }) => {
      const { runOutboxRetry } = await import('./operator-commands.ts');
      await runOutboxRetry(loadConfig(), id, options);
    });

  program
    .command('break-glass')
    .description(
      "Make an existing account an Owner of an organization (its role becomes Owner, or it joins as Owner), within ORGS_MAX_OWNED_PER_USER; the org's owners are told by email",
    )
    .option('--org <slug>', 'the organization')
    .option('--email <email>', 'the account')
    .option(...reasonOption)
    .action(async (options: { org?: string; email?: string; reason?: string }) => {
      const { runBreakGlass } = await import('./operator-commands.ts');
      await runBreakGlass(loadConfig(), options);
    });

  const audit = program.command('audit').description('The tamper-evident audit log');
  audit
    .command('verify')
    .description(
      'Verify an exported audit log (JSON Lines) offline: every entry intact, in order and vouched for by a signed checkpoint',
    )
    .argument('<file>', 'the file from GET /api/v1/orgs/:orgId/audit-events/export?format=jsonl')
    .option(
      '--public-key <key>',
      'a trusted public key, or a file holding it: PEM, JWK, an item or the whole response of GET /api/v1/audit-keys, or the raw base64url key (repeatable, or comma-separated)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--checkpoints <file>',
      'checkpoints held outside the installation, to catch a log cut short with its last checkpoints: ' +
        'saved from GET /api/v1/orgs/:orgId/audit-checkpoints, or audit.checkpoint events a receiver gathered ' +
        '(JSON, or JSON Lines of the webhook bodies or their data)',
    )
    .option('--json', 'print the report as JSON')
    .action(async (file: string, options: AuditVerifyOptions) => {
      const { runAuditVerify } = await import('./audit-verify.ts');
      process.exitCode = await runAuditVerify(file, options);
    });

  const scan = program.command('scan').description('Scans of applications');
  scan
    .command('upload')
    .description(
      'Upload a SARIF 2.1.0 file as a scan (token in GATEHOUSE_TOKEN); exit 0 passed, 1 a policy failed, 2 error',
    )
    .argument('<file>', 'the SARIF log')
    .requiredOption('--app <name|id>', 'the application, by name or id')
    .requiredOption(
      '--module <module>',
      'dependencies, sast, secrets or api (repeatable, or comma-separated)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--url <url>', 'the Gatehouse server (default GATEHOUSE_URL or http://localhost:3000)')
    .option('--org <id>', 'the organization (default GATEHOUSE_ORG, or the one a personal token reaches)')
    .action(async (file: string, options: ScanUploadOptions) => {
      const { runScanUpload } = await import('./scan-upload.ts');
      process.exitCode = await runScanUpload(file, options);
    });

  return program;
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    fail(err);
  }
}
