/**
 * The token calls Duet reasons about before signing — who receives, who may spend, how much — read
 * from a transaction's calldata: only exactly the canonical ABI encoding (`decodeAbi`: 4-byte
 * selector, 32-byte words, clean address padding, a clean bool) is recognised. The checks
 * (presign-warnings.ts), the balance change, the activity record and the Guard read calls through
 * here; the display (token-actions.ts) decodes with the same `decodeAbi` and selectors.
 */
import { getAddress } from 'ethers';
import type { TransactionRequest } from './signing-request.ts';

export const SELECTOR_ERC20_TRANSFER = '0xa9059cbb';
export const SELECTOR_ERC20_APPROVE = '0x095ea7b3';
export const SELECTOR_ERC20_TRANSFER_FROM = '0x23b872dd';
export const SELECTOR_SET_APPROVAL_FOR_ALL = '0xa22cb465';
/** safeTransferFrom(address,address,uint256) */
export const SELECTOR_ERC721_SAFE_TRANSFER = '0x42842e0e';
/** safeTransferFrom(address,address,uint256,bytes) */
export const SELECTOR_ERC721_SAFE_TRANSFER_DATA = '0xb88d4fde';
/** safeTransferFrom(address,address,uint256,uint256,bytes) */
export const SELECTOR_ERC1155_SAFE_TRANSFER = '0xf242432a';
/** safeBatchTransferFrom(address,address,uint256[],uint256[],bytes) */
export const SELECTOR_ERC1155_SAFE_BATCH_TRANSFER = '0x2eb2c2d6';

/** Every selector above: the calls whose token contract the display describes. */
export const TOKEN_CALL_SELECTORS: ReadonlySet<string> = new Set([
  SELECTOR_ERC20_TRANSFER,
  SELECTOR_ERC20_APPROVE,
  SELECTOR_ERC20_TRANSFER_FROM,
  SELECTOR_SET_APPROVAL_FOR_ALL,
  SELECTOR_ERC721_SAFE_TRANSFER,
  SELECTOR_ERC721_SAFE_TRANSFER_DATA,
  SELECTOR_ERC1155_SAFE_TRANSFER,
  SELECTOR_ERC1155_SAFE_BATCH_TRANSFER,
]);

export type TokenCall =
  | { readonly kind: 'transfer'; readonly to: string; readonly amount: bigint }
  | { readonly kind: 'approve'; readonly spender: string; readonly amount: bigint }
  | { readonly kind: 'transferFrom'; readonly from: string; readonly to: string; readonly amount: bigint }
  | { readonly kind: 'setApprovalForAll'; readonly operator: string; readonly approved: boolean };

export type AbiKind = 'address' | 'uint256' | 'bool' | 'bytes' | 'uint256[]';
export type AbiValue = string | bigint | boolean | readonly bigint[];

const WORD = 64;

/**
 * The canonical ABI decoding of `body` (lowercase hex after the selector), or null if it is
 * anything else: 32-byte words, clean address and bool words, dynamic parts where a canonical
 * encoder puts them, zero padding, nothing after them.
 */
export function decodeAbi(body: string, kinds: readonly AbiKind[]): AbiValue[] | null {
  if (body.length % WORD !== 0) return null;
  const words = Array.from({ length: body.length / WORD }, (_, index) => body.slice(index * WORD, (index + 1) * WORD));
  const values: AbiValue[] = [];
  let tail = kinds.length;
  for (const [index, kind] of kinds.entries()) {
    const word = words[index];
    if (word === undefined) return null;
    if (kind === 'address') {
      if (!/^0{24}[0-9a-f]{40}$/.test(word)) return null;
      values.push(getAddress(`0x${word.slice(24)}`));
    } else if (kind === 'uint256') {
      values.push(BigInt(`0x${word}`));
    } else if (kind === 'bool') {
      if (!/^0{63}[01]$/.test(word)) return null;
      values.push(word.endsWith('1'));
    } else {
      if (BigInt(`0x${word}`) !== BigInt(tail * 32)) return null;
      const lengthWord = words[tail];
      if (lengthWord === undefined) return null;
      const length = Number.parseInt(lengthWord, 16);
      if (!Number.isSafeInteger(length) || BigInt(`0x${lengthWord}`) !== BigInt(length)) return null;
      if (kind === 'uint256[]') {
        const items = words.slice(tail + 1, tail + 1 + length);
        if (items.length !== length) return null;
        values.push(items.map((item) => BigInt(`0x${item}`)));
        tail += 1 + length;
      } else {
        const padded = Math.ceil(length / 32);
        const chunk = words.slice(tail + 1, tail + 1 + padded).join('');
        if (chunk.length !== padded * WORD || /[^0]/.test(chunk.slice(length * 2))) return null;
        values.push(`0x${chunk.slice(0, length * 2)}`);
        tail += 1 + padded;
      }
    }
  }
  return tail === words.length ? values : null;
}

/** The token call `data` encodes exactly, or null. */
export function readTokenCall(calldata: string): TokenCall | null {
  const data = calldata.toLowerCase();
  const body = data.slice(10);
  if (!/^[0-9a-f]*$/.test(body)) return null;
  switch (data.slice(0, 10)) {
    case SELECTOR_ERC20_TRANSFER: {
      const values = decodeAbi(body, ['address', 'uint256']);
      return values && { kind: 'transfer', to: values[0] as string, amount: values[1] as bigint };
    }
    case SELECTOR_ERC20_APPROVE: {
      const values = decodeAbi(body, ['address', 'uint256']);
      return values && { kind: 'approve', spender: values[0] as string, amount: values[1] as bigint };
    }
    case SELECTOR_ERC20_TRANSFER_FROM: {
      const values = decodeAbi(body, ['address', 'address', 'uint256']);
      return values && { kind: 'transferFrom', from: values[0] as string, to: values[1] as string, amount: values[2] as bigint };
    }
    case SELECTOR_SET_APPROVAL_FOR_ALL: {
      const values = decodeAbi(body, ['address', 'bool']);
      return values && { kind: 'setApprovalForAll', operator: values[0] as string, approved: values[1] as boolean };
    }
    default:
      return null;
  }
}

/** `transfer(to, amount)` calldata. */
export function encodeTokenTransfer(to: string, amount: bigint): string {
  return `${SELECTOR_ERC20_TRANSFER}${getAddress(to).slice(2).toLowerCase().padStart(WORD, '0')}${amount.toString(16).padStart(WORD, '0')}`;
}

/**
 * The address a transaction deals with, as a person would name it: the recipient of ETH or
 * tokens, the spender or operator of an approval, otherwise the contract called. Null for a
 * contract deployment.
 */
export function counterparty(request: TransactionRequest): string | null {
  const { to, data } = request.tx;
  if (to === null) return null;
  const call = data === '0x' ? null : readTokenCall(data);
  switch (call?.kind) {
    case 'transfer':
    case 'transferFrom':
      return call.to;
    case 'approve':
      return call.spender;
    case 'setApprovalForAll':
      return call.operator;
    default:
      return getAddress(to);
  }
}
