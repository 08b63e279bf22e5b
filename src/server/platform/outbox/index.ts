export {
  EVENT_DISPATCH,
  EVENT_TYPES,
  type EventType,
  emitEvent,
  enqueue,
  isJobPending,
  type OutboxJob,
  type PlatformEvent,
} from './outbox.ts';
export {
  DEFAULT_RETRY_DELAYS,
  type EventSubscriber,
  GiveUp,
  type JobHandler,
  type JobInfo,
  type JobOutcome,
  OutboxWorker,
} from './worker.ts';
