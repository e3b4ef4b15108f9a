/**
 * What a signing request does, as the policy weighs it: what it spends, to whom, and whether it
 * grants an unlimited allowance. Read from the frozen request the Guard decoded itself (the same
 * decoding the wallet's own checks use, src/wallet/token-call.ts and typed-data.ts), never from what a device
 * says about it.
 *
 * - Native currency: value + gas × maxFeePerGas. The fee counts because a priority fee is paid
 *   to the block's proposer, so fees are a way to move ETH too.
 * - ERC-20 transfer: the amount against the token's limit; the recipient is a destination.
 *   approve: the allowance against the limit (it lets the spender take that much), the spender a
 *   destination; an unlimited allowance (≥ 2^255) counts nothing but is refused unless the spender
 *   is allow-listed; approve(…, 0) removes an allowance and needs nothing. transferFrom: counted
 *   when it moves this account's own tokens; the recipient is a destination.
 *   setApprovalForAll(true): the operator is a destination, and it is an unlimited grant.
 * - Any other call: the contract is a destination. A deployment has no destination and always
 *   needs the second factor (or the delay).
 * - Typed data: EIP-2612 Permit (token = verifyingContract; DAI-style `allowed` = unlimited) and
 *   Permit2 PermitSingle / PermitBatch are approvals as above; anything else, and personal_sign,
 *   is a message (policy.messages).
 */
import { getAddress } from 'ethers';
import { UNLIMITED_APPROVAL_THRESHOLD, UNLIMITED_PERMIT2_THRESHOLD } from '../wallet/decode.ts';
import { readTokenCall } from '../wallet/token-call.ts';
import { maxFeePerGasOf, type SigningRequest, type TransactionRequest, type TypedDataRequest } from '../wallet/signing-request.ts';
import { checkTypedData, type TypedValue } from '../wallet/typed-data.ts';

export type DestinationRole = 'recipient' | 'spender' | 'operator' | 'contract';

export interface Destination {
  readonly address: string;
  readonly role: DestinationRole;
}

export interface TokenSpend {
  readonly token: string;
  readonly amount: bigint;
}

export interface RequestEffect {
  readonly kind: 'transaction' | 'message' | 'permit';
  readonly chainId: number;
  readonly account: number;
  /** Native currency the transaction can move (value + max fee); 0 for signatures. */
  readonly native: bigint;
  readonly tokens: readonly TokenSpend[];
  readonly destinations: readonly Destination[];
  /** Unlimited grants: the party that could take everything (spender or operator). */
  readonly unlimited: readonly Destination[];
  /** A contract deployment (no destination to check). */
  readonly deploy: boolean;
}

interface Parts {
  tokens: TokenSpend[];
  destinations: Destination[];
  unlimited: Destination[];
}

const emptyParts = (): Parts => ({ tokens: [], destinations: [], unlimited: [] });

function transactionEffect(request: TransactionRequest): RequestEffect {
  const { tx } = request;
  const base = { kind: 'transaction' as const, chainId: request.chainId, account: request.account.index, native: tx.value + tx.gas * maxFeePerGasOf(tx) };
  if (tx.to === null) return { ...base, tokens: [], destinations: [], unlimited: [], deploy: true };
  const to = getAddress(tx.to);
  const data = tx.data.toLowerCase();
  const parts = emptyParts();
  const call = data === '0x' ? null : readTokenCall(data);
  switch (call?.kind) {
    case 'transfer':
      parts.tokens.push({ token: to, amount: call.amount });
      parts.destinations.push({ address: call.to, role: 'recipient' });
      break;
    case 'approve':
      grant(parts, to, call.spender, call.amount, call.amount >= UNLIMITED_APPROVAL_THRESHOLD);
      break;
    case 'transferFrom':
      if (call.from === getAddress(request.account.address)) parts.tokens.push({ token: to, amount: call.amount });
      parts.destinations.push({ address: call.to, role: 'recipient' });
      break;
    case 'setApprovalForAll':
      if (call.approved) {
        parts.destinations.push({ address: call.operator, role: 'operator' });
        parts.unlimited.push({ address: call.operator, role: 'operator' });
      }
      break;
    case undefined:
      parts.destinations.push({ address: to, role: data === '0x' ? 'recipient' : 'contract' });
  }
  return { ...base, ...parts, deploy: false };
}

/** An allowance of `amount` to `spender`: nothing for a removal, unlimited, or counted. */
function grant(parts: Parts, token: string, spender: string, amount: bigint, unlimited: boolean): void {
  if (unlimited) {
    parts.destinations.push({ address: spender, role: 'spender' });
    parts.unlimited.push({ address: spender, role: 'spender' });
  } else if (amount > 0n) {
    parts.destinations.push({ address: spender, role: 'spender' });
    parts.tokens.push({ token, amount });
  }
}

// ---- typed data ---------------------------------------------------------------------------

function field(node: TypedValue | undefined, name: string): TypedValue | undefined {
  return node?.kind === 'struct' ? node.fields.find((entry) => entry.name === name)?.value : undefined;
}

function atomic(node: TypedValue | undefined, type: RegExp): string | null {
  return node?.kind === 'atomic' && type.test(node.type) ? node.value : null;
}

/** A Permit2 details struct: { token, amount, … }. */
function permit2Details(parts: Parts, details: TypedValue | undefined, spender: string): boolean {
  const token = atomic(field(details, 'token'), /^address$/);
  const amount = atomic(field(details, 'amount'), /^uint\d+$/);
  if (token === null || amount === null) return false;
  grant(parts, token, spender, BigInt(amount), BigInt(amount) >= UNLIMITED_PERMIT2_THRESHOLD);
  return true;
}

/** The permit in typed data, or null when it is not one the Guard recognises (then it is a message). */
function permitParts(request: TypedDataRequest): Parts | null {
  const checked = checkTypedData(request.typedData, request.chainId, 'request.typedData', request.typedDataVersion ?? 'v4');
  const { primaryType } = checked.payload;
  const message = checked.message;
  const spender = atomic(field(message, 'spender'), /^address$/);
  if (spender === null) return null;
  const parts = emptyParts();
  if (primaryType === 'Permit') {
    const token = atomic(field(checked.domain, 'verifyingContract'), /^address$/);
    if (token === null) return null;
    const allowed = atomic(field(message, 'allowed'), /^bool$/);
    if (allowed !== null) {
      grant(parts, token, spender, allowed === 'true' ? 1n : 0n, allowed === 'true');
      return parts;
    }
    const value = atomic(field(message, 'value'), /^uint\d+$/);
    if (value === null) return null;
    grant(parts, token, spender, BigInt(value), BigInt(value) >= UNLIMITED_APPROVAL_THRESHOLD);
    return parts;
  }
  if (primaryType === 'PermitSingle') return permit2Details(parts, field(message, 'details'), spender) ? parts : null;
  if (primaryType === 'PermitBatch') {
    const details = field(message, 'details');
    if (details?.kind !== 'array') return null;
    return details.items.every((item) => permit2Details(parts, item, spender)) ? parts : null;
  }
  return null;
}

export function requestEffect(request: SigningRequest): RequestEffect {
  const base = { chainId: request.chainId, account: request.account.index, native: 0n, deploy: false };
  switch (request.kind) {
    case 'transaction':
      return transactionEffect(request);
    case 'personal_sign':
    case 'typed_data_v1':
      return { ...base, kind: 'message', tokens: [], destinations: [], unlimited: [] };
    case 'typed_data': {
      const parts = permitParts(request);
      return parts ? { ...base, kind: 'permit', ...parts } : { ...base, kind: 'message', tokens: [], destinations: [], unlimited: [] };
    }
  }
}
