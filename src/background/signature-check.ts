/**
 * What the extension does with a co-signed (r, s, yParity) before anything leaves the wallet:
 * check that it recovers the request's account over the digest the extension computed itself,
 * then format it for the page (65-byte signature) or serialise the signed transaction.
 */
import { Signature, recoverAddress, toBeHex, hexlify } from 'ethers';
import { rpcErrors } from '../provider/rpc-error.ts';
import { signingDigest, unsignedTransaction, type SigningRequest } from '../wallet/signing-request.ts';
import type { CoSignature } from './co-signer.ts';

/** secp256k1 group order n; EIP-2 requires s ≤ n/2. */
const SECP256K1_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

function toEthersSignature(signature: CoSignature): Signature {
  return Signature.from({ r: toBeHex(signature.r, 32), s: toBeHex(signature.s, 32), yParity: signature.yParity });
}

export function verifyCoSignature(request: SigningRequest, signature: CoSignature): void {
  const inRange = (value: bigint) => value > 0n && value < SECP256K1_ORDER;
  if (!inRange(signature.r) || !inRange(signature.s) || signature.s > SECP256K1_ORDER / 2n || (signature.yParity !== 0 && signature.yParity !== 1)) {
    throw rpcErrors.internal('The co-signed signature is malformed; nothing was sent.');
  }
  let recovered: string;
  try {
    recovered = recoverAddress(hexlify(signingDigest(request)), toEthersSignature(signature));
  } catch {
    throw rpcErrors.internal('The co-signed signature cannot be verified; nothing was sent.');
  }
  if (recovered !== request.account.address) throw rpcErrors.internal('The co-signed signature does not match the account; nothing was sent.');
}

/** r ‖ s ‖ v with v = 27 + yParity, as personal_sign and eth_signTypedData_v4 return it. */
export function signatureHex(signature: CoSignature): string {
  return toEthersSignature(signature).serialized;
}

export function signedTransactionHex(request: Extract<SigningRequest, { kind: 'transaction' }>, signature: CoSignature): { raw: string; hash: string } {
  const tx = unsignedTransaction(request);
  tx.signature = toEthersSignature(signature);
  return { raw: tx.serialized, hash: tx.hash as string };
}
