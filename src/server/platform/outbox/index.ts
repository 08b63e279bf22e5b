export {
  EVENT_DISPATCH,
  EVENT_TYPES,
  EVENTS_PER_DISPATCH,
  type EventBatch,
  type EventType,
  emitEvent,
  emitEvents,
  enqueue,
  type OutboxJob,
  type PlatformEvent,
} from './outbox.ts';
export {
  type BatchSubscriber,
  DEFAULT_RETRY_DELAYS,
  type EventSubscriber,
  GiveUp,
  type JobHandler,
  type JobInfo,
  type JobOutcome,
  OutboxWorker,
} from './worker.ts';
