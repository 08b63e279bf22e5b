import type { Permission } from '../../contracts/permissions.ts';
import type { OrgAccess } from './access/access.ts';
import { lockActorAccess, type OrgLock } from './access/guard.ts';
import type { Actor, AuditTarget, ChangeRecord, RequestMeta } from './actor.ts';
import type { DeniedRecorder } from './audit/denied.ts';
import type { AuditLog } from './audit/log.ts';
import type { SessionService } from './auth/sessions.ts';
import type { Delivery, InvalidationBus } from './cache/cache.ts';
import type { CommandScope } from './command-scope.ts';
import type { Database, Tx } from './db/client.ts';
import { pgConstraint, pgErrorCode } from './db/errors.ts';
import { AppError, ConflictError, OrgSuspendedError, PermissionDeniedError } from './errors/app-error.ts';
import {
  emitEvent,
  emitEvents,
  enqueue,
  OUTBOX_WAKE_TOPIC,
  type OutboxJob,
  type PlatformEvent,
} from './outbox/outbox.ts';
import type { Secrets } from './secrets/secrets.ts';

// The actor's types live in a leaf module every layer may import; these names stay for importers.
export type { Actor, ChangeRecord, RequestMeta } from './actor.ts';
export { describeActor } from './actor.ts';

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
  /**
   * The permission the request's route declares (`config.permission`, or its command's). A command
   * run for that route must require the same one: the runner refuses to run it otherwise, a second
   * line behind the check made when the route is registered.
   */
  routePermission?: Permission;
  /**
   * The commands the request's route declares it runs (`config.command`; none when it declares
   * none). The runner refuses to run any other for the request.
   */
  routeCommands?: readonly AnyCommand[];
}

/** Platform services a command may call inside its transaction. */
export interface CommandServices {
  sessions: SessionService;
  /**
   * Seals secrets the change writes, emails among them: `queueEmail` (platform/mail/queue.ts)
   * seals each message into its outbox job, so nothing is sent for a change that rolled back.
   */
  secrets: Secrets;
  /** The audit log (signing checkpoints, retention); entries themselves are appended by the runner. */
  audit: AuditLog;
  /** The outbox worker of this instance: woken after a commit that enqueued work. */
  outbox: { wake(): void };
  /**
   * Tells an org's owners that someone was given a privileged role (the members module's rule,
   * offered here to the modules members itself depends on, such as roles).
   */
  alertPromotion(
    ctx: Pick<CommandContext, 'tx' | 'actor' | 'emit' | 'services'>,
    org: { orgId: string; orgName: string },
    who: string,
    roleName: string,
  ): Promise<void>;
}

export interface CommandContext extends Invocation, CommandScope {
  tx: Tx;
  services: CommandServices;
  /**
   * Declare what changed. Exactly one record of the command's own action per run, unless the
   * command declared it changed nothing (`unchanged`); the audit hook writes it in this same
   * transaction. `action` names one of the command's `alsoRecords`, for a record beside it.
   */
  record(change: {
    target: AuditTarget;
    before?: Record<string, unknown> | null;
    after?: Record<string, unknown> | null;
    orgId?: string | null;
    actor?: Actor;
    action?: string;
  }): void;
  /**
   * Declare that this run changes nothing (a role set to the one already held, identical
   * fields): it then records nothing, and the audit log gains no entry.
   */
  unchanged(): void;
  /**
   * Drop a cached value everywhere once this transaction commits. The command answers only once
   * the notice has been delivered (bounded wait), so the very next request on any instance sees
   * the change.
   */
  invalidate(cacheName: string, key: string): Promise<void>;
  /**
   * Run after a successful commit (never on rollback). Errors are logged, not raised. Only for
   * what may be lost in a crash (cache drops, logging): work that must happen is `enqueue`d.
   */
  afterCommit(fn: () => void | Promise<void>): void;
  /**
   * Writes an outbox job in this transaction (it exists exactly when the change commits); the
   * worker is woken once the transaction commits. Null when its `dedupeKey` was already queued.
   */
  enqueue<P>(job: OutboxJob<P>): Promise<string | null>;
  /** Emits an event to the subscribers (webhooks, notifications, Slack) once this change commits. */
  emit<D extends Record<string, unknown>>(event: {
    type: PlatformEvent['type'];
    orgId: string;
    data: D;
    at?: Date;
  }): Promise<PlatformEvent<D>>;
  /**
   * Emits many events at once (a scan's new findings): each its own event, carried in a few
   * outbox rows however many there are (see `emitEvents`).
   */
  emitMany<D extends Record<string, unknown>>(
    events: ReadonlyArray<{ type: PlatformEvent['type']; orgId: string; data: D; at?: Date }>,
  ): Promise<PlatformEvent<D>[]>;
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
  /**
   * What a violation of a named database constraint means for this command, by constraint name
   * (unique indexes, check constraints, constraint triggers): the error it answers with instead.
   * A unique violation no entry names is a generic 409 conflict; anything else stays a failure.
   */
  constraints?: Readonly<Record<string, () => AppError>>;
  /**
   * Further actions the command records, any number of times, beside its own one record: a change
   * that reaches into several logs says so in each (deleting an account records `member.left` in
   * every organization it leaves, in the same transaction as `user.deleted`).
   */
  alsoRecords?: readonly string[];
  run(ctx: CommandContext, input: I): Promise<O>;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds commands of every shape
export type AnyCommand = CommandDefinition<any, any>;

const registry: AnyCommand[] = [];

/** Every write goes through here; the registry lets tests enumerate every command there is. */
export function defineCommand<I, O>(definition: CommandDefinition<I, O>): CommandDefinition<I, O> {
  registry.push(definition);
  return definition;
}

export function listCommands(): readonly AnyCommand[] {
  return registry;
}

/**
 * Where the runner writes each command's change: the hash-chained audit log, appended in the
 * command's own transaction (a failure to append rolls the change back).
 */
export type CommandAudit = Pick<AuditLog, 'entryFor' | 'append'>;

const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock
const MAX_ATTEMPTS = 4;

export class CommandRunner {
  constructor(
    private readonly database: Database,
    private readonly bus: InvalidationBus,
    private readonly services: CommandServices,
    /** Every command's change is appended here before its transaction commits. */
    private readonly audit: CommandAudit,
    private readonly logError: (err: unknown, msg: string) => void,
  ) {}

  private onDenied: DeniedRecorder | undefined;

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
          ...(err.missing ? { missing: err.missing } : {}),
          ...(err.asked ? { asked: err.asked } : {}),
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
    if (invocation.routeCommands !== undefined && !invocation.routeCommands.includes(command)) {
      throw new Error(
        `${invocation.route ?? 'a route'} runs ${command.action}, which it does not declare in config.command`,
      );
    }
    if (invocation.routePermission !== undefined && invocation.routePermission !== command.permission) {
      throw new Error(
        `${invocation.route ?? 'a route'} declares "${invocation.routePermission}" but runs ${command.action}, which requires ${command.permission ? `"${command.permission}"` : 'no permission'}`,
      );
    }
    if (command.permission && !invocation.access?.permissions.has(command.permission)) {
      throw new PermissionDeniedError(command.permission);
    }
    for (let attempt = 1; ; attempt++) {
      const after: Array<() => void | Promise<void>> = [];
      let invalidated = false;
      let queued = false;
      let delivery: Delivery | undefined;
      try {
        const result = await this.database.db.transaction(async (tx) => {
          const records: ChangeRecord[] = [];
          let unchanged = false;
          let access = invocation.access;
          if (command.permission) {
            if (!access) throw new PermissionDeniedError(command.permission);
            access = await lockActorAccess(tx, invocation.actor, access.orgId, command.orgLock ?? 'shared');
            // Suspended since the request was let in: refused under the same lock a suspension takes.
            if (access.suspended) throw new OrgSuspendedError();
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
              if (change.action !== undefined && !command.alsoRecords?.includes(change.action)) {
                throw new Error(
                  `command ${command.action} records ${change.action}, which it does not declare`,
                );
              }
              records.push({
                action: change.action ?? command.action,
                orgId: change.orgId ?? access?.orgId ?? null,
                target: change.target,
                before: change.before ?? null,
                after: change.after ?? null,
                actor: change.actor ?? invocation.actor,
              });
            },
            unchanged: () => {
              unchanged = true;
            },
            invalidate: async (cacheName, key) => {
              await this.bus.notify(tx, cacheName, key);
              invalidated = true;
              after.push(() => this.bus.dropLocal(cacheName, key));
            },
            afterCommit: (fn) => {
              after.push(fn);
            },
            enqueue: (job) => {
              queued = true;
              return enqueue(tx, job);
            },
            emit: (event) => {
              queued = true;
              return emitEvent(tx, event);
            },
            emitMany: (events) => {
              if (events.length > 0) queued = true;
              return emitEvents(tx, events);
            },
          };
          const output = await command.run(ctx, input);
          const own = records.filter((r) => r.action === command.action).length;
          if (unchanged ? records.length !== 0 : own !== 1) {
            throw new Error(
              unchanged
                ? `command ${command.action} declared no change yet recorded ${records.length}`
                : `command ${command.action} recorded ${own} changes; exactly one is required`,
            );
          }
          // The audit entries commit with the change or not at all (a run that changed nothing has none).
          if (records.length > 0) {
            await this.audit.append(
              tx,
              records.map((change) => this.audit.entryFor(change, invocation.meta)),
            );
          }
          // Last statement before COMMIT: a marker that follows every notice this command sent.
          if (invalidated) delivery = await this.bus.beginDelivery(tx);
          return output;
        });
        // Committed. Answer only once every instance has been sent the notices: until then
        // another instance could still serve what this command just ended from its cache.
        if (delivery) {
          await delivery.wait().catch((err) => this.logError(err, `delivery of ${command.action} notices`));
        }
        if (queued) {
          // This instance's worker now, the others' through the bus (sent after the commit).
          this.services.outbox.wake();
          this.bus.wake(OUTBOX_WAKE_TOPIC);
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
        // Integrity violations (class 23) the command declared: its own words for its own rule.
        const constraint = code?.startsWith('23') ? pgConstraint(err) : undefined;
        if (constraint && command.constraints && Object.hasOwn(command.constraints, constraint)) {
          throw command.constraints[constraint]!();
        }
        if (code === '23505') throw new ConflictError('The change conflicts with existing data.');
        throw err;
      }
    }
  }
}
