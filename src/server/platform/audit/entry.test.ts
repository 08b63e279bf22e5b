import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize } from './canonical.ts';
import {
  type AuditEntry,
  auditTarget,
  canonicalBody,
  entryHash,
  entryLine,
  type UnhashedEntry,
} from './entry.ts';
import { splitEntryLine } from './verify.ts';

/** An entry as written before targets carried words: `{type, id}` only. */
const OLD_SHAPED: UnhashedEntry = {
  id: '0b7e4a52-52a4-4c53-9d55-3f0f7c1d2a11',
  orgId: '5d1c6a2e-8f3b-4c47-a1e6-2b9d0c7e4f10',
  seq: 7,
  occurredAt: '2026-11-02T09:30:00.000Z',
  actor: { type: 'user', id: '9a0f3c1e-2d4b-4e6a-8c7d-1b2a3c4d5e6f', email: 'olivia@example.test' },
  action: 'member.role_changed',
  target: { type: 'member', id: 'c3d2e1f0-a9b8-4c7d-8e6f-5a4b3c2d1e0f' },
  before: { role: 'developer' },
  after: { role: 'admin' },
  ip: '203.0.113.9',
  userAgent: 'Mozilla/5.0',
  requestId: 'req-1',
  prevHash: 'ab'.repeat(32),
};

describe('an entry’s target in words', () => {
  it('leaves an entry without words hashing exactly as before (the hash signed checkpoints vouch for)', () => {
    // Computed by the writer as it was before targets had `name` and `email`.
    const before = '96a2850f6fa41e2c92fbe4b4f9288fe2010af466c1ee4c38d83f0fa41e74541d';
    expect(entryHash(OLD_SHAPED)).toBe(before);
    expect(entryHash({ ...OLD_SHAPED, target: auditTarget(OLD_SHAPED.target) })).toBe(before);
    expect(
      entryHash({ ...OLD_SHAPED, target: auditTarget({ ...OLD_SHAPED.target, name: '', email: undefined }) }),
    ).toBe(before);
  });

  it('keeps the words that say something, and they are hashed', () => {
    const target = auditTarget({ type: 'member', id: 'm1', name: 'Dev Eloper', email: 'dev@example.test' });
    expect(target).toEqual({ type: 'member', id: 'm1', name: 'Dev Eloper', email: 'dev@example.test' });
    expect(auditTarget({ type: 'role', id: 'r1', name: 'Developer' })).toEqual({
      type: 'role',
      id: 'r1',
      name: 'Developer',
    });
    expect(entryHash({ ...OLD_SHAPED, target })).not.toBe(entryHash(OLD_SHAPED));
  });

  it('exports as a line the offline verifier splits, though the target’s email sorts before its id', () => {
    for (const target of [
      { type: 'member', id: 'm1', name: 'Dev, "the" Eloper', email: 'dev@example.test' },
      { type: 'invitation', id: 'i1', email: 'new@example.test' },
      { type: 'role', id: 'r1', name: 'Role with ,"id":" inside' },
    ]) {
      const unhashed = { ...OLD_SHAPED, target };
      const entry = { ...unhashed, hash: entryHash(unhashed) } as AuditEntry;
      const line = entryLine(entry);
      expect(line).toContain('"target":{');
      expect(splitEntryLine(line)).toEqual({
        chainId: OLD_SHAPED.orgId,
        seq: 7,
        prevHash: OLD_SHAPED.prevHash,
        hash: entry.hash,
        computed: entry.hash,
        hashAt: line.indexOf(`"hash":"${entry.hash}`) + 8,
      });
      // Edited words no longer match the hash.
      const edited = line.replace(`"id":"${target.id}"`, `"id":"${target.id}x"`);
      expect(splitEntryLine(edited)?.computed).not.toBe(entry.hash);
    }
  });
});

describe('canonicalBody', () => {
  const text = fc.oneof(
    fc.string(),
    fc.string({ unit: 'grapheme' }),
    fc.constantFrom('', '"', '\\', '\u2028', 'é'),
  );
  const json = fc.jsonValue({ maxDepth: 3 });
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const entry = fc.record(
    {
      id: text,
      orgId: maybe(text),
      userId: maybe(text),
      instanceId: maybe(text),
      seq: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
      occurredAt: text,
      actor: fc.record(
        { type: text, id: fc.option(text), email: fc.option(text), tokenId: maybe(text) },
        { requiredKeys: ['type', 'id', 'email'] },
      ),
      action: text,
      target: fc.record(
        { type: text, id: text, name: maybe(text), email: maybe(text) },
        { requiredKeys: ['type', 'id'] },
      ),
      before: fc.option(fc.dictionary(text, json)),
      after: fc.option(fc.dictionary(text, json)),
      ip: fc.option(text),
      userAgent: fc.option(text),
      requestId: fc.option(text),
      prevHash: text,
      hash: maybe(text),
    },
    { requiredKeys: ['id', 'seq', 'occurredAt', 'actor', 'action', 'target', 'prevHash'] },
  );

  it('writes an entry of the known shape exactly as the general RFC 8785 encoder does', () => {
    fc.assert(
      fc.property(entry, (e) => {
        const { hash: _omit, ...body } = e as unknown as AuditEntry;
        expect(canonicalBody(e as unknown as AuditEntry)).toBe(canonicalize(body));
      }),
      { numRuns: 2_000 },
    );
  });

  it('leaves an entry of another shape to the general encoder', () => {
    const odd = { ...OLD_SHAPED, extra: { b: 1, a: [2] }, target: { ...OLD_SHAPED.target, z: 1 } };
    expect(canonicalBody(odd as unknown as AuditEntry)).toBe(canonicalize(odd));
  });
});
