/** Requests and helpers shared by the wallet tests. */
import { expect } from 'vitest';
import type { Eip1559Fields, LegacyTypedDataRequest, PersonalSignRequest, TransactionRequest, TypedDataRequest } from '../../src/wallet/signing-request.ts';
import { WalletError, type WalletErrorCode } from '../../src/wallet/wallet-error.ts';

/** anvil's first development key (public knowledge) and its address. */
export const DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
export const DEV_ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
export const TOKEN = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
export const SPENDER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

const base = { id: '00112233445566778899aabbccddeeff', origin: 'http://localhost:3000', chainId: 31337, account: { index: 0, address: DEV_ADDRESS }, createdAt: 1_700_000_000_000 };

export function transactionRequest(tx: Partial<Eip1559Fields> = {}): TransactionRequest {
  return {
    ...base,
    kind: 'transaction',
    tx: { to: SPENDER, value: 0n, data: '0x', nonce: 1, gas: 60_000n, maxFeePerGas: 2_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n, chainId: base.chainId, ...tx },
  };
}

export function personalSignRequest(message: string): PersonalSignRequest {
  return { ...base, kind: 'personal_sign', message };
}

/** The EIP-712 specification's example (eip-712.md, "Example"), on mainnet. */
export const MAIL_TYPED_DATA = {
  types: {
    EIP712Domain: [
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' },
    ],
    Person: [
      { name: 'name', type: 'string' },
      { name: 'wallet', type: 'address' },
    ],
    Mail: [
      { name: 'from', type: 'Person' },
      { name: 'to', type: 'Person' },
      { name: 'contents', type: 'string' },
    ],
  },
  primaryType: 'Mail',
  domain: { name: 'Ether Mail', version: '1', chainId: 1, verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' },
  message: {
    from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826' },
    to: { name: 'Bob', wallet: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB' },
    contents: 'Hello, Bob!',
  },
};
/** Exercises arrays of structs, fixed arrays, nested arrays, bytes, bytesN, signed integers and bool. */
export const ORDER_TYPED_DATA = {
  types: {
    EIP712Domain: [
      { name: 'name', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'salt', type: 'bytes32' },
    ],
    Leg: [
      { name: 'asset', type: 'address' },
      { name: 'delta', type: 'int128' },
      { name: 'memo', type: 'bytes' },
    ],
    Order: [
      { name: 'legs', type: 'Leg[]' },
      { name: 'pair', type: 'uint8[2]' },
      { name: 'grid', type: 'uint16[][]' },
      { name: 'tag', type: 'bytes4' },
      { name: 'partial', type: 'bool' },
      { name: 'expiry', type: 'uint64' },
    ],
  },
  primaryType: 'Order',
  domain: { name: 'Exchange', chainId: '0x7a69', salt: `0x${'ab'.repeat(32)}` },
  message: {
    legs: [
      { asset: '0x5FbDB2315678afecb367f032d93F642f64180aa3', delta: '-1000', memo: '0x' },
      { asset: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', delta: 1000, memo: '0xc0ffee' },
    ],
    pair: [1, 2],
    grid: [[1, 2, 3], [], [65535]],
    tag: '0xdeadbeef',
    partial: false,
    expiry: '0xffffffffffffffff',
  },
};

export const MAIL_DIGEST = '0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2';

export function typedDataRequest(typedData: unknown, chainId = 1): TypedDataRequest {
  return { ...base, chainId, kind: 'typed_data', typedData: typedData as TypedDataRequest['typedData'] };
}

export function legacyTypedDataRequest(typedData: unknown): LegacyTypedDataRequest {
  return { ...base, kind: 'typed_data_v1', typedData: typedData as LegacyTypedDataRequest['typedData'] };
}

/** ABI calldata: selector, then each value as one 32-byte word. */
export function calldata(selector: string, ...words: bigint[]): string {
  return selector + words.map((word) => word.toString(16).padStart(64, '0')).join('');
}

/** Runs `action` and expects a WalletError with exactly this code and field. */
export function expectWalletError(action: () => unknown, code: WalletErrorCode, field: string): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected ${code} at ${field}`).toBeInstanceOf(WalletError);
  expect({ code: (caught as WalletError).code, field: (caught as WalletError).field }).toEqual({ code, field });
}

/** A deep copy with one change, for building bad inputs from good ones. */
export function withChange<T>(value: T, change: (copy: Record<string, any>) => void): Record<string, any> {
  const copy = structuredClone(value) as Record<string, any>;
  change(copy);
  return copy;
}
