/**
 * The phone's vault key from its platform authenticator (Face ID, fingerprint, screen lock):
 * a WebAuthn credential with the PRF extension (W3C WebAuthn Level 3, §10.1.4). The PRF output for
 * the vault's stored salt is the key material; it exists only while the user has just verified
 * (userVerification "required") and never leaves memory. Without the authenticator the stored
 * vault cannot be opened, so an offline search of copied storage has nothing to guess.
 *
 * There is no server: the assertion's signature is not checked (nothing relies on it); the PRF
 * output is. A credential whose authenticator has no PRF gives `null` at registration, and the
 * phone falls back to a passphrase.
 */
export interface DeviceKeyRegistration {
  readonly credentialId: Uint8Array;
  readonly prfOutput: Uint8Array;
}

export interface DeviceKeyAuthenticator {
  /** A user-verifying platform authenticator is there (it may still lack PRF: see register). */
  available(): Promise<boolean>;
  /** Registers a credential and evaluates its PRF at `salt`; null when the authenticator has no PRF. */
  register(salt: Uint8Array): Promise<DeviceKeyRegistration | null>;
  /** The PRF output of `credentialId` at `salt`, after the user verified. */
  evaluate(credentialId: Uint8Array, salt: Uint8Array): Promise<Uint8Array>;
}

const TIMEOUT_MS = 120_000;
const PRF_OUTPUT_BYTES = 32;

type PrfResults = { enabled?: boolean; results?: { first?: BufferSource } };

function prfOf(credential: Credential | null): PrfResults | undefined {
  return (credential as PublicKeyCredential | null)?.getClientExtensionResults().prf as PrfResults | undefined;
}

function outputOf(prf: PrfResults | undefined): Uint8Array | null {
  const first = prf?.results?.first;
  if (!first) return null;
  const bytes = first instanceof ArrayBuffer ? new Uint8Array(first.slice(0)) : new Uint8Array(first.buffer.slice(first.byteOffset, first.byteOffset + first.byteLength));
  return bytes.length === PRF_OUTPUT_BYTES ? bytes : null;
}

const copy = (bytes: Uint8Array) => new Uint8Array(bytes);

/** The browser's WebAuthn, on the phone app's own origin (the relying party is the app's host). */
export const browserDeviceKey: DeviceKeyAuthenticator = {
  async available() {
    const api = globalThis.PublicKeyCredential as (typeof PublicKeyCredential & { getClientCapabilities?: () => Promise<Record<string, boolean>> }) | undefined;
    // A relying party is a domain: on an IP address (127.0.0.1) WebAuthn refuses every ceremony.
    if (!api || !globalThis.isSecureContext || /^[\d.]+$|^\[/.test(location.hostname)) return false;
    if (!(await api.isUserVerifyingPlatformAuthenticatorAvailable().catch(() => false))) return false;
    const capabilities = await api.getClientCapabilities?.().catch(() => undefined);
    return capabilities?.['extension:prf'] !== false;
  },

  async register(salt) {
    const credential = await navigator.credentials.create({
      publicKey: {
        rp: { name: 'Duet' },
        user: { id: crypto.getRandomValues(new Uint8Array(16)), name: 'Duet phone co-signer', displayName: 'Duet phone co-signer' },
        challenge: crypto.getRandomValues(new Uint8Array(32)),
        pubKeyCredParams: [
          { type: 'public-key', alg: -7 },
          { type: 'public-key', alg: -257 },
        ],
        authenticatorSelection: { authenticatorAttachment: 'platform', residentKey: 'discouraged', userVerification: 'required' },
        attestation: 'none',
        timeout: TIMEOUT_MS,
        extensions: { prf: { eval: { first: copy(salt) } } } as AuthenticationExtensionsClientInputs,
      },
    });
    const prf = prfOf(credential);
    if (!credential || prf?.enabled === false || (prf?.enabled === undefined && !prf?.results)) return null;
    const credentialId = new Uint8Array((credential as PublicKeyCredential).rawId);
    // Some authenticators evaluate the PRF only on an assertion, not at registration.
    const prfOutput = outputOf(prf) ?? (await this.evaluate(credentialId, salt));
    return { credentialId, prfOutput };
  },

  async evaluate(credentialId, salt) {
    const assertion = await navigator.credentials.get({
      publicKey: {
        challenge: crypto.getRandomValues(new Uint8Array(32)),
        allowCredentials: [{ type: 'public-key', id: copy(credentialId) }],
        userVerification: 'required',
        timeout: TIMEOUT_MS,
        extensions: { prf: { eval: { first: copy(salt) } } } as AuthenticationExtensionsClientInputs,
      },
    });
    const output = outputOf(prfOf(assertion));
    if (!output) throw new Error('the authenticator gave no key for this credential');
    return output;
  },
};
