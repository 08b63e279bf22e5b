import { createHash, createSign, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { type CBORType, encodeCBOR } from '@levischuck/tiny-cbor';

/**
 * A software passkey authenticator in Node: what a browser and its authenticator answer to
 * WebAuthn options, built by hand (attestation "none", an ES256 key), so tests and benchmarks can
 * register passkeys and sign in with them without a browser. Every knob a test needs to make a
 * bad answer is a parameter: another RP ID or origin, no user verification, a chosen counter.
 */

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

export interface CeremonyOptions {
  /** The RP ID the authenticator scopes the credential to (default: the options' own). */
  rpId?: string;
  /** The page's origin the browser reports (default: http://<rpId>:3000 as the test server's). */
  origin?: string;
  /** Whether the user was verified (PIN, biometrics): the UV flag. Default true. */
  userVerified?: boolean;
  /** The challenge answered (default: the options'). */
  challenge?: string;
}

export class SoftPasskey {
  readonly credentialId = randomBytes(32);
  private readonly key: { privateKey: KeyObject; publicKey: KeyObject };
  /** The signature counter; 0 forever means an authenticator that keeps none (a synced passkey). */
  counter: number;
  /** The user handle the credential was created with (returned on discoverable sign-in). */
  userHandle: string | undefined;
  rpId: string;

  constructor(options: { rpId?: string; counter?: number; synced?: boolean } = {}) {
    this.key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.counter = options.counter ?? (options.synced ? 0 : 1);
    this.rpId = options.rpId ?? 'localhost';
    this.synced = options.synced ?? false;
  }

  private readonly synced: boolean;

  get id(): string {
    return b64url(this.credentialId);
  }

  private coseKey(): Uint8Array {
    const jwk = this.key.publicKey.export({ format: 'jwk' });
    return encodeCBOR(
      new Map<number, number | Uint8Array>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    );
  }

  private authData(rpId: string, flags: number, attested: boolean): Buffer {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.counter);
    const parts = [sha256(rpId), Buffer.from([flags]), count];
    if (attested) {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(this.credentialId.length);
      parts.push(Buffer.alloc(16), len, this.credentialId, Buffer.from(this.coseKey()));
    }
    return Buffer.concat(parts);
  }

  private flags(userVerified: boolean, attested: boolean): number {
    return (
      FLAG_UP |
      (userVerified ? FLAG_UV : 0) |
      (this.synced ? FLAG_BE | FLAG_BS : 0) |
      (attested ? FLAG_AT : 0)
    );
  }

  private clientData(type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** The answer to PublicKeyCredentialCreationOptionsJSON (startRegistration's result). */
  register(
    options: { challenge: string; rp: { id?: string }; user: { id: string } },
    ceremony: CeremonyOptions = {},
  ) {
    const rpId = ceremony.rpId ?? options.rp.id ?? this.rpId;
    this.rpId = rpId;
    this.userHandle = options.user.id;
    const clientDataJSON = this.clientData(
      'webauthn.create',
      ceremony.challenge ?? options.challenge,
      ceremony.origin ?? `http://${rpId}:3000`,
    );
    const authData = this.authData(rpId, this.flags(ceremony.userVerified ?? true, true), true);
    const attestationObject = encodeCBOR(
      new Map<string, CBORType>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key' as const,
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: ['internal', 'hybrid'],
      },
      authenticatorAttachment: 'platform' as const,
      clientExtensionResults: {},
    };
  }

  /**
   * The answer to PublicKeyCredentialRequestOptionsJSON (startAuthentication's result). The
   * counter moves forward first unless the passkey keeps none; `counter` sets it instead.
   */
  assert(
    options: { challenge: string; rpId?: string },
    ceremony: CeremonyOptions & { counter?: number } = {},
  ) {
    const rpId = ceremony.rpId ?? options.rpId ?? this.rpId;
    if (ceremony.counter !== undefined) this.counter = ceremony.counter;
    else if (!this.synced) this.counter += 1;
    const clientDataJSON = this.clientData(
      'webauthn.get',
      ceremony.challenge ?? options.challenge,
      ceremony.origin ?? `http://${rpId}:3000`,
    );
    const authData = this.authData(rpId, this.flags(ceremony.userVerified ?? true, false), false);
    const signature = createSign('sha256')
      .update(Buffer.concat([authData, sha256(clientDataJSON)]))
      .sign(this.key.privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key' as const,
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(this.userHandle ? { userHandle: this.userHandle } : {}),
      },
      authenticatorAttachment: 'platform' as const,
      clientExtensionResults: {},
    };
  }
}
