export {
  type AddressClass,
  type AddressDecision,
  type AddressKind,
  type Allowlist,
  classifyAddress,
  decideAddress,
  parseAllowlist,
} from './addresses.ts';
export {
  createOutbound,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_TIMEOUT_MS,
  type OutboundLookup,
  type OutboundOptions,
} from './client.ts';
export {
  type Outbound,
  OutboundError,
  type OutboundFailure,
  type OutboundRequest,
  type OutboundResponse,
} from './outbound.ts';
export {
  answerMessage,
  ConnectionTestResultSchema,
  describeFailure,
  describeStatus,
  maskSecrets,
  PROBE_TIMEOUT_MS,
  type ProbeOutcome,
  probe,
  statusCode,
} from './probe.ts';
