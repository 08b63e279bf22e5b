import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.ts';
import { canonicalize } from './canonical.ts';
import { checkpointSignatureValid, keyIdOf, loadSigningKey, parsePublicKey, signCheckpoint } from './keys.ts';

describe('canonicalize (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units, as the RFC’s example does', () => {
    const value = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const keys = [...canonicalize(value).matchAll(/"([^"]*)":/g)].map((m) => JSON.parse(`"${m[1]}"`));
    expect(keys).toEqual(['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33']);
  });

  it('writes numbers as ECMAScript does, strings with minimal escapes, no whitespace', () => {
    expect(canonicalize({ n: [333333333.3333333, 1e30, 4.5, 2e-3, 0.000001, 1e-7, -0, 1e21] })).toBe(
      '{"n":[333333333.3333333,1e+30,4.5,0.002,0.000001,1e-7,0,1e+21]}',
    );
    expect(canonicalize({ s: '\u20ac$\u000f\nA\'B"\\\\"/' })).toBe('{"s":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
    expect(canonicalize({ b: { z: null, a: true, m: false } })).toBe('{"b":{"a":true,"m":false,"z":null}}');
    expect(canonicalize({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it('refuses what JSON cannot hold', () => {
    expect(() => canonicalize({ n: Number.NaN })).toThrow();
    expect(() => canonicalize({ n: Number.POSITIVE_INFINITY })).toThrow();
    expect(() => canonicalize({ m: new Map() })).toThrow();
  });
});

describe('audit signing keys', () => {
  it('computes the RFC 7638 thumbprint of an Ed25519 key (RFC 8037 appendix A.3)', () => {
    const key = parsePublicKey('11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo');
    expect(keyIdOf(key)).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });

  it('generates the key file once (mode 0600) and reads it back on the next start', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-keys-'));
    try {
      const first = loadSigningKey({ dataDir: dir });
      const file = path.join(dir, 'audit-signing-key.pem');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(loadSigningKey({ dataDir: dir }).keyId).toBe(first.keyId);
      expect(() => loadSigningKey({ dataDir: dir, file: path.join(dir, 'missing.pem') })).toThrow(
        /does not exist/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('signs checkpoints that verify with the public key in each form it is served, and only for their chain', () => {
    const key = loadSigningKey({
      dataDir: os.tmpdir(),
      pem: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    });
    const orgId = '4a0c6a4e-0e0c-4d49-9a52-6e1f5f1f2c11';
    const cp = signCheckpoint(key, 'org', orgId, {
      seq: 7,
      hash: 'a'.repeat(64),
      signedAt: '2026-01-01T00:00:00.000Z',
    });
    for (const form of [key.publicKey, key.publicKeyPem, JSON.stringify({ publicKey: key.publicKey })]) {
      expect(checkpointSignatureValid(parsePublicKey(form), 'org', orgId, cp)).toBe(true);
    }
    const pub = parsePublicKey(key.publicKey);
    expect(checkpointSignatureValid(pub, 'org', '5a0c6a4e-0e0c-4d49-9a52-6e1f5f1f2c11', cp)).toBe(false);
    expect(checkpointSignatureValid(pub, 'org', orgId, { ...cp, seq: 8 })).toBe(false);
    expect(checkpointSignatureValid(pub, 'org', orgId, { ...cp, hash: 'b'.repeat(64) })).toBe(false);
    expect(checkpointSignatureValid(pub, 'org', orgId, { ...cp, signature: 'AAAA' })).toBe(false);
  });

  it('takes AUDIT_SIGNING_KEY as PEM, with newlines written literally too, and refuses anything else without echoing it', () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(loadConfig({ AUDIT_SIGNING_KEY: pem }).audit.signingKeyPem).toBe(pem.trim());
    expect(loadConfig({ AUDIT_SIGNING_KEY: pem.trim().replaceAll('\n', '\\n') }).audit.signingKeyPem).toBe(
      pem.trim(),
    );
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    for (const bad of ['not a key', rsa]) {
      let message = '';
      try {
        loadConfig({ AUDIT_SIGNING_KEY: bad });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/AUDIT_SIGNING_KEY must be an Ed25519 private key/);
      expect(message).not.toContain(bad.slice(0, 20));
    }
  });
});
