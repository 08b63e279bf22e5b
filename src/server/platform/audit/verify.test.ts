import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, sha256Hex } from './entry.ts';
import { ChainVerifier } from './verify.ts';

/** A chain of `n` entries as the verifier sees them: seq, prevHash, hash (content = its hash). */
function chain(n: number) {
  const out: Array<{ seq: number; prevHash: string; hash: string }> = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const hash = sha256Hex(`entry ${seq} after ${prev}`);
    out.push({ seq, prevHash: prev, hash });
    prev = hash;
  }
  return out;
}

function run(entries: Array<{ seq: number; prevHash: string; hash: string }>) {
  const v = new ChainVerifier({ seq: 0, hash: GENESIS_HASH, signed: true });
  for (const e of entries) {
    v.push(e.seq, e.prevHash, e.hash, e.hash);
    if (v.failed) break;
  }
  return v.finish();
}

describe('ChainVerifier: which entry a broken link blames', () => {
  it('the entry before, when it was changed and re-hashed (the next one still commits to the original)', () => {
    const entries = chain(12);
    entries[7] = { ...entries[7]!, hash: sha256Hex('entry 8, edited') };
    expect(run(entries)).toMatchObject({ ok: false, firstBadSeq: 8, reason: 'broken_link' });
  });

  it('the entry itself, when it was replaced whole by a self-consistent forgery', () => {
    const entries = chain(12);
    entries[8] = { seq: 9, prevHash: sha256Hex('made up'), hash: sha256Hex('forged 9') };
    expect(run(entries)).toMatchObject({ ok: false, firstBadSeq: 9, reason: 'broken_link' });
  });

  it('the entry before, when the last entry no longer follows it', () => {
    const entries = chain(5);
    entries[3] = { ...entries[3]!, hash: sha256Hex('entry 4, edited') };
    expect(run(entries)).toMatchObject({ ok: false, firstBadSeq: 4, reason: 'broken_link' });
  });

  it('an intact chain is ok, with its head', () => {
    const entries = chain(6);
    expect(run(entries)).toMatchObject({ ok: true, checked: 6, headSeq: 6, headHash: entries[5]!.hash });
  });
});
