export {
  JOB_STATES,
  type JobRow,
  type JobState,
  listJobs,
  lockJob,
  purgeFinishedJobs,
  type Retention,
  reviveJob,
} from './jobs.ts';
export {
  EVENT_DISPATCH,
  EVENT_TYPES,
  type EventType,
  emitEvent,
  enqueue,
  OUTBOX_WAKE_TOPIC,
  type OutboxJob,
  outboxSecretContext,
  type PlatformEvent,
} from './outbox.ts';
export {
  DEFAULT_LEASE_SECONDS,
  DEFAULT_RETRY_DELAYS,
  type EventSubscriber,
  GiveUp,
  type JobHandler,
  type JobInfo,
  type JobOutcome,
  OutboxWorker,
} from './worker.ts';
