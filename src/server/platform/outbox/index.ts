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
  EVENTS_PER_DISPATCH,
  type EventBatch,
  type EventType,
  emitEvent,
  emitEvents,
  enqueue,
  OUTBOX_WAKE_TOPIC,
  type OutboxJob,
  type PlatformEvent,
} from './outbox.ts';
export {
  type BatchSubscriber,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_RETRY_DELAYS,
  type EventSubscriber,
  GiveUp,
  type JobHandler,
  type JobInfo,
  type JobOutcome,
  OutboxWorker,
} from './worker.ts';
