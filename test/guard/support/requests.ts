/** Signing requests the Guard's tests send (as the extension freezes them after its user approved). */
import { newSigningRequestId, type PersonalSignRequest, type TransactionRequest } from '../../../src/wallet/signing-request.ts';

export const FRIEND = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

/** An ETH transfer from account 0 (`address`), created at `now` (the Guard's clock in tests that move it). */
export function transfer(address: string, to: string, value: bigint, nonce: number, now = Date.now()): TransactionRequest {
  return {
    kind: 'transaction',
    id: newSigningRequestId(),
    origin: 'https://dapp.example',
    chainId: 31337,
    account: { index: 0, address },
    createdAt: now,
    tx: { to, value, data: '0x', nonce, gas: 21_000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, chainId: 31337 },
  };
}

export function note(address: string, now = Date.now(), message = '0x6869'): PersonalSignRequest {
  return { kind: 'personal_sign', id: newSigningRequestId(), origin: 'https://dapp.example', chainId: 31337, account: { index: 0, address }, createdAt: now, message };
}
