/**
 * The token calls Duet reasons about before signing — who receives, who may spend, how much — read
 * from a transaction's calldata with the strictness of decode.ts: only exactly the ABI encoding
 * (4-byte selector, 32-byte words, clean address padding, a clean bool) is recognised. The checks
 * (presign-warnings.ts), the balance change and the activity record all read calls through here.
 */
import { getAddress } from 'ethers';
import { SELECTOR_ERC20_APPROVE, SELECTOR_ERC20_TRANSFER, SELECTOR_ERC20_TRANSFER_FROM, SELECTOR_SET_APPROVAL_FOR_ALL } from './decode.ts';
import type { TransactionRequest } from './signing-request.ts';

export type TokenCall =
  | { readonly kind: 'transfer'; readonly to: string; readonly amount: bigint }
  | { readonly kind: 'approve'; readonly spender: string; readonly amount: bigint }
  | { readonly kind: 'transferFrom'; readonly from: string; readonly to: string; readonly amount: bigint }
  | { readonly kind: 'setApprovalForAll'; readonly operator: string; readonly approved: boolean };

const WORD = 64;
const ADDRESS_WORD = /^0{24}([0-9a-f]{40})$/;

function words(data: string, count: number): string[] | null {
  const body = data.slice(10);
  if (body.length !== count * WORD || !/^[0-9a-f]*$/.test(body)) return null;
  return Array.from({ length: count }, (_, index) => body.slice(index * WORD, (index + 1) * WORD));
}

function address(word: string | undefined): string | null {
  const match = word === undefined ? null : ADDRESS_WORD.exec(word);
  return match ? getAddress(`0x${match[1]}`) : null;
}

const uint = (word: string) => BigInt(`0x${word}`);

function bool(word: string): boolean | null {
  if (word === '0'.repeat(WORD)) return false;
  return word === `${'0'.repeat(WORD - 1)}1` ? true : null;
}

/** The token call `data` encodes exactly, or null. */
export function readTokenCall(calldata: string): TokenCall | null {
  const data = calldata.toLowerCase();
  switch (data.slice(0, 10)) {
    case SELECTOR_ERC20_TRANSFER: {
      const w = words(data, 2);
      const to = address(w?.[0]);
      return w && to ? { kind: 'transfer', to, amount: uint(w[1] as string) } : null;
    }
    case SELECTOR_ERC20_APPROVE: {
      const w = words(data, 2);
      const spender = address(w?.[0]);
      return w && spender ? { kind: 'approve', spender, amount: uint(w[1] as string) } : null;
    }
    case SELECTOR_ERC20_TRANSFER_FROM: {
      const w = words(data, 3);
      const from = address(w?.[0]);
      const to = address(w?.[1]);
      return w && from && to ? { kind: 'transferFrom', from, to, amount: uint(w[2] as string) } : null;
    }
    case SELECTOR_SET_APPROVAL_FOR_ALL: {
      const w = words(data, 2);
      const operator = address(w?.[0]);
      const approved = w ? bool(w[1] as string) : null;
      return operator && approved !== null ? { kind: 'setApprovalForAll', operator, approved } : null;
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
