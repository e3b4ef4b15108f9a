/**
 * The relay's side of relay credentials (src/channel/relay-credential.ts): a fresh challenge per
 * connection, and the check of a hello against it with Node's native Ed25519 (~0.15 ms).
 */
import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { decodeBase64Url } from '../channel/base64url.ts';
import { relayChannelNameOf, relayProofMessage, type RelayRoster } from '../channel/relay-credential.ts';
import type { Hello } from '../channel/relay-protocol.ts';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4); the 32-byte key follows. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function newChallenge(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

/** The hello's roster when its name commits to it and its proof is the role's signature over `nonce`; else null. */
export function verifyHello(hello: Hello, nonce: Uint8Array): RelayRoster | null {
  const extension = decodeBase64Url(hello.keys.extension);
  const phone = decodeBase64Url(hello.keys.phone);
  const proof = decodeBase64Url(hello.proof);
  if (extension?.length !== 32 || phone?.length !== 32 || proof?.length !== 64) return null;
  const roster = { extension, phone };
  if (relayChannelNameOf(roster) !== hello.channel) return null;
  try {
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, roster[hello.role]]), format: 'der', type: 'spki' });
    return verify(null, relayProofMessage(nonce, hello.channel, hello.role), key, proof) ? roster : null;
  } catch {
    return null;
  }
}
