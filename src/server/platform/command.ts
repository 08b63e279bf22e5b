import type { Permission } from '../../contracts/permissions.ts';
import type { OrgAccess } from './access/access.ts';
import { lockActorAccess, type OrgLock } from './access/guard.ts';
import type { DeniedRecorder } from './audit/denied.ts';
import type { AuditLog } from './audit/log.ts';
import type { SessionService } from './auth/sessions.ts';
import type { Delivery, InvalidationBus } from './cache/cache.ts';
import type { Database, Tx } from './db/client.ts';
import { pgConstraint, pgErrorCode } from './db/errors.ts';
import { AppError, ConflictError, PermissionDeniedError } from './errors/app-error.ts';
import type { Mailer } from './mail/mailer.ts';

/**
 * Who acts: a user (signed in, or through one of their personal tokens: `tokenId`), an
 * organization's automation token, the system, or nobody yet. Later capabilities add SCIM.
 */
export type Actor =
  | { type: 'anonymous' }
  | { type: 'system' }
  | { type: 'user'; userId: string; email: string; sessionId?: string; tokenId?: string }
  | { type: 'token'; tokenId: string; orgId: string; name: string };

export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

/** The change a command made, as the audit trail will show it. */
export interface ChangeRecord {
  action: string;
  orgId: string | null;
  target: { type: string; id: string };
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  /** The actor once the command has run (sign-up and login create who acts). */
  actor: Actor;
}

export interface Invocation {
  actor: Actor;
  meta: RequestMeta;
  /**
   * For org-scoped requests: the org and what the actor may do there, as the access layer
   * resolved it for the request. A command with a `permission` sees it re-read in its transaction.
   */
  access?: OrgAccess;
  /** `METHOD /route/:pattern` of the request, when there is one. */
  route?: string;
}

/** Who acts, in words, for messages to people (an email address, a token's name, the system). */
export function describeActor(actor: Actor): string {
  switch (actor.type) {
    case 'user':
      return actor.email;
    case 'token':
      return `the automation token "${actor.name}"`;
    default:
      return 'the system';
  }
}

/** Platform services a command may call inside its transaction. */
export interface CommandServices {
  sessions: SessionService;
  /** Email; send from `afterCommit`, so nothing is sent for a change that rolled back. */
  mailer: Mailer;
  /** The audit log (signing checkpoints, retention); entries themselves are appended by the runner. */
  audit: AuditLog;
}

export interface CommandContext extends Invocation {
  tx: Tx;
  services: CommandServices;
  /**
   * Declare what changed. Exactly one record per command run; the audit hook writes it in this
   * same transaction.
   */
  record(change: {
    target: { type: string; id: string };
    before?: Record<string, unknown> | null;
    after?: Record<string, unknown> | null;
    orgId?: string | null;
    actor?: Actor;
  }): void;
  /**
   * Drop a cached value everywhere once this transaction commits. The command answers only once
   * the notice has been delivered (bounded wait), so the very next request on any instance sees
   * the change.
   */
  invalidate(cacheName: string, key: string): Promise<void>;
  /** Run after a successful commit (never on rollback). Errors are logged, not raised. */
  afterCommit(fn: () => void | Promise<void>): void;
}

export interface CommandDefinition<I, O> {
  /** Audit action, `resource.past_tense`. */
  action: string;
  /**
   * Org permission the actor must hold; account-level commands have none. It is checked before
   * the transaction (from the request's access) and again inside it, under the org's row lock.
   */
  permission?: Permission;
  /** How the org is held while an org-scoped command runs (default `shared`). */
  orgLock?: OrgLock;
  run(ctx: CommandContext, input: I): Promise<O>;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds commands of every shape
type AnyCommand = CommandDefinition<any, any>;

const registry: AnyCommand[] = [];

/** Every write goes through here; the registry lets tests enumerate every command there is. */
export function defineCommand<I, O>(definition: CommandDefinition<I, O>): CommandDefinition<I, O> {
  registry.push(definition);
  return definition;
}

export function listCommands(): readonly AnyCommand[] {
  return registry;
}

/** Runs inside the transaction after `run`, before commit (audit, outbox). Throwing rolls back. */
export type BeforeCommitHook = (tx: Tx, change: ChangeRecord, invocation: Invocation) => Promise<void>;

const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock
const MAX_ATTEMPTS = 4;

export class CommandRunner {
  private readonly beforeCommit: BeforeCommitHook[] = [];

  constructor(
    private readonly database: Database,
    private readonly bus: InvalidationBus,
    private readonly services: CommandServices,
    private readonly logError: (err: unknown, msg: string) => void,
  ) {}

  private onDenied: DeniedRecorder | undefined;

  addBeforeCommitHook(hook: BeforeCommitHook): void {
    this.beforeCommit.push(hook);
  }

  /** Told of each refusal for a missing permission, whether before or inside the transaction. */
  setDeniedRecorder(recorder: DeniedRecorder): void {
    this.onDenied = recorder;
  }

  async run<I, O>(command: CommandDefinition<I, O>, invocation: Invocation, input: I): Promise<O> {
    try {
      return await this.execute(command, invocation, input);
    } catch (err) {
      if (err instanceof PermissionDeniedError && invocation.access && this.onDenied) {
        await this.onDenied({
          actor: invocation.actor,
          meta: invocation.meta,
          access: invocation.access,
          permission: err.permission,
          route: invocation.route ?? `command ${command.action}`,
        });
      }
      throw err;
    }
  }

  private async execute<I, O>(
    command: CommandDefinition<I, O>,
    invocation: Invocation,
    input: I,
  ): Promise<O> {
    if (command.permission && !invocation.access?.permissions.has(command.permission)) {
      throw new PermissionDeniedError(command.permission);
    }
    for (let attempt = 1; ; attempt++) {
      const after: Array<() => void | Promise<void>> = [];
      let invalidated = false;
      let delivery: Delivery | undefined;
      try {
        const result = await this.database.db.transaction(async (tx) => {
          const records: ChangeRecord[] = [];
          let access = invocation.access;
          if (command.permission) {
            if (!access) throw new PermissionDeniedError(command.permission);
            access = await lockActorAccess(tx, invocation.actor, access.orgId, command.orgLock ?? 'shared');
            if (!access.permissions.has(command.permission)) {
              throw new PermissionDeniedError(command.permission);
            }
          }
          const ctx: CommandContext = {
            ...invocation,
            ...(access ? { access } : {}),
            tx,
            services: this.services,
            record: (change) => {
              records.push({
                action: command.action,
                orgId: change.orgId ?? access?.orgId ?? null,
                target: change.target,
                before: change.before ?? null,
                after: change.after ?? null,
                actor: change.actor ?? invocation.actor,
              });
            },
            invalidate: async (cacheName, key) => {
              await this.bus.notify(tx, cacheName, key);
              invalidated = true;
              after.push(() => this.bus.dropLocal(cacheName, key));
            },
            afterCommit: (fn) => {
              after.push(fn);
            },
          };
          const output = await command.run(ctx, input);
          if (records.length !== 1) {
            throw new Error(
              `command ${command.action} recorded ${records.length} changes; exactly one is required`,
            );
          }
          for (const hook of this.beforeCommit) await hook(tx, records[0]!, invocation);
          // Last statement before COMMIT: a marker that follows every notice this command sent.
          if (invalidated) delivery = await this.bus.beginDelivery(tx);
          return output;
        });
        // Committed. Answer only once every instance has been sent the notices: until then
        // another instance could still serve what this command just ended from its cache.
        if (delivery) {
          await delivery.wait().catch((err) => this.logError(err, `delivery of ${command.action} notices`));
        }
        for (const fn of after) {
          try {
            await fn();
          } catch (err) {
            this.logError(err, `after-commit step of ${command.action} failed`);
          }
        }
        return result;
      } catch (err) {
        delivery?.cancel();
        const code = pgErrorCode(err);
        if (code && RETRYABLE.has(code) && attempt < MAX_ATTEMPTS) continue;
        if (err instanceof AppError) throw err;
        if (code === '23514' && pgConstraint(err) === 'memberships_last_owner') {
          throw new ConflictError('An organization must keep at least one owner.', 'last_owner');
        }
        if (code === '23505' && pgConstraint(err) === 'organizations_slug_key') {
          throw new ConflictError('The slug is taken by another organization.', 'slug_taken');
        }
        if (code === '23505') throw new ConflictError('The change conflicts with existing data.');
        throw err;
      }
    }
  }
}
