import { describe, expect, it } from 'vitest';
import { indexTermsOf, keyTrigrams } from './findings.search-terms.ts';

describe('keyTrigrams', () => {
  it('takes the trigrams inside each run of letters and digits, as pg_trgm does for a pattern', () => {
    expect(keyTrigrams('module42file')).toEqual([
      'mod',
      'odu',
      'dul',
      'ule',
      'le4',
      'e42',
      '42f',
      '2fi',
      'fil',
      'ile',
    ]);
    expect(keyTrigrams("it's")).toEqual([]);
    expect(keyTrigrams("don'tstop")).toEqual(['don', 'tst', 'sto', 'top']);
    expect(keyTrigrams('añoño')).toEqual(['año', 'ñoñ', 'oño']);
    expect(keyTrigrams('ab')).toEqual([]);
  });
});

describe('indexTermsOf', () => {
  const shares = new Map([
    ['mod', 1],
    ['odu', 1],
    ['dul', 1],
    ['ule', 1],
    ['fil', 1],
    ['ile', 1],
    ['le4', 0.3],
    ['e42', 0.02],
    ['42f', 0.01],
    ['2fi', 0.1],
  ]);

  it('asks for the rarest trigrams until the rows holding them all are expected to be rare', () => {
    // 0.01 × 0.02 = 0.0002 < 0.001: two are enough; the common ones are never asked for.
    expect(indexTermsOf('module42file', shares)).toEqual(['42f', 'e42']);
  });

  it('stops at one trigram the sample did not keep (rarer than any it did)', () => {
    expect(indexTermsOf('modulezq', shares)).toEqual(['lez']);
  });

  it('asks for at most three, however common', () => {
    expect(indexTermsOf('module', shares)).toEqual(['mod', 'odu', 'dul']);
  });

  it('every term is a substring of the key: a row that matches the key holds them all', () => {
    for (const key of ['module42file', "o'reillyx9", 'src2authlogin', 'añoñoabc']) {
      for (const term of indexTermsOf(key, shares)) expect(key).toContain(term);
    }
  });

  it('asks for the whole key without a sample, or without an ASCII trigram to weigh', () => {
    expect(indexTermsOf('module42file', undefined)).toEqual(['module42file']);
    expect(indexTermsOf('añoño', shares, (c) => /\p{L}/u.test(c))).toEqual(['añoño']);
  });

  it('asks for nothing when pg_trgm would take no trigram from the key (GIN would read it all)', () => {
    // Beyond ASCII only the database tells word characters: by default none are counted.
    expect(indexTermsOf('añoño', shares)).toEqual([]);
    expect(indexTermsOf('²²²', undefined, (c) => c !== '²')).toEqual([]);
    expect(indexTermsOf('ab²cd', undefined)).toEqual([]);
    expect(indexTermsOf('ab²cde', undefined)).toEqual(['ab²cde']);
  });

  it('weighs trigrams in any case and keeps the term’s case (the database lowers it)', () => {
    expect(indexTermsOf('MODULE42FILE', shares)).toEqual(['42F', 'E42']);
  });
});
