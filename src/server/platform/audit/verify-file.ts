import type { KeyObject } from 'node:crypto';
import type { ChainKind } from './entry.ts';
import { GENESIS_HASH } from './entry.ts';
import type { Checkpoint } from './keys.ts';
import { ChainVerifier, checkpointProblem, splitEntryLine, type VerifyReport } from './verify.ts';

export interface FileVerifyReport extends VerifyReport {
  /** The chain the signed checkpoints name. */
  chain?: { kind: ChainKind; id: string };
}

const CHECKPOINT_PREFIX = '{"checkpoint":';

function chainOfCheckpoint(cp: Checkpoint): { kind: ChainKind; id: string } | undefined {
  if (typeof cp.orgId === 'string') return { kind: 'org', id: cp.orgId };
  if (typeof cp.userId === 'string') return { kind: 'user', id: cp.userId };
  const instanceId = (cp as { instanceId?: unknown }).instanceId;
  if (typeof instanceId === 'string') return { kind: 'instance', id: instanceId };
  return undefined;
}

function readCheckpoint(line: string): Checkpoint | undefined {
  try {
    const cp = (JSON.parse(line) as { checkpoint?: Checkpoint }).checkpoint;
    if (
      cp &&
      Number.isSafeInteger(cp.seq) &&
      cp.seq >= 0 &&
      typeof cp.hash === 'string' &&
      typeof cp.signedAt === 'string' &&
      typeof cp.keyId === 'string' &&
      typeof cp.signature === 'string'
    ) {
      return cp;
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/**
 * Verifies an exported JSON Lines audit log offline, with the public keys the verifier trusts
 * (by key id), plus any checkpoints held separately (e.g. saved from GET audit-checkpoints
 * earlier, to catch a file cut short together with its last checkpoint). OK only when every entry
 * is intact, in order, anchored at its start and vouched for up to the last one by a valid
 * signature; otherwise the first sequence number that is not what was written.
 */
export async function verifyExportLines(
  lines: AsyncIterable<string> | Iterable<string>,
  keys: ReadonlyMap<string, KeyObject>,
  extraCheckpoints: readonly Checkpoint[] = [],
): Promise<FileVerifyReport> {
  let verifier: ChainVerifier | undefined;
  let chain: { kind: ChainKind; id: string } | undefined;
  /** Checkpoints seen before the first entry: one of them may anchor the start. */
  const leading: Checkpoint[] = [];
  const problems: Array<{ seq: number; reason: Parameters<ChainVerifier['fail']>[1]; detail: string }> = [];
  let lineNo = 0;

  const acceptCheckpoint = (cp: Checkpoint) => {
    const of = chainOfCheckpoint(cp);
    if (!of) {
      problems.push({ seq: cp.seq, reason: 'malformed', detail: `checkpoint ${cp.seq} names no chain` });
      return;
    }
    if (chain && (chain.kind !== of.kind || chain.id !== of.id)) {
      problems.push({
        seq: cp.seq,
        reason: 'malformed',
        detail: `checkpoint ${cp.seq} belongs to another log`,
      });
      return;
    }
    chain = of;
    const problem = checkpointProblem(keys, of.kind, of.id, cp);
    if (problem) {
      problems.push({ seq: cp.seq, ...problem });
      return;
    }
    if (verifier) verifier.addCheckpoint(cp);
    else leading.push(cp);
  };

  for (const cp of extraCheckpoints) acceptCheckpoint(cp);
  for await (const raw of lines) {
    lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') continue;
    if (line.startsWith(CHECKPOINT_PREFIX)) {
      const cp = readCheckpoint(line);
      if (cp) acceptCheckpoint(cp);
      else {
        const at = (verifier?.head.seq ?? 0) + 1;
        problems.push({ seq: at, reason: 'malformed', detail: `line ${lineNo} is not a checkpoint` });
      }
      continue;
    }
    const entry = splitEntryLine(line);
    if (!verifier) {
      const firstSeq = entry?.seq ?? 1;
      const anchor = leading.find((cp) => cp.seq === firstSeq - 1);
      verifier = anchor
        ? new ChainVerifier({ seq: anchor.seq, hash: anchor.hash, signed: true })
        : firstSeq === 1
          ? new ChainVerifier({ seq: 0, hash: GENESIS_HASH, signed: true })
          : new ChainVerifier();
      for (const cp of leading) if (cp !== anchor) verifier.addCheckpoint(cp);
    }
    if (!entry) {
      verifier.fail(
        (verifier.head.seq ?? 0) + 1,
        'malformed',
        `line ${lineNo} is not an exported audit entry`,
      );
      break;
    }
    verifier.push(entry.seq, entry.prevHash, entry.hash, entry.computed);
    if (verifier.failed) break;
  }
  verifier ??= new ChainVerifier({ seq: 0, hash: GENESIS_HASH, signed: true });
  // A problem with a checkpoint counts where it sits in the chain, unless the chain broke earlier.
  for (const p of problems.sort((a, b) => a.seq - b.seq)) verifier.fail(p.seq, p.reason, p.detail);
  const report: FileVerifyReport = verifier.finish();
  if (report.ok && report.headSeq !== null && (report.signedSeq ?? 0) < report.headSeq) {
    const from = (report.signedSeq ?? 0) + 1;
    Object.assign(report, {
      ok: false,
      firstBadSeq: from,
      reason: 'unsigned_tail',
      detail: `entries from ${from} on are not vouched for by a signed checkpoint: they could have been rewritten`,
    });
  }
  if (chain) report.chain = chain;
  return report;
}
