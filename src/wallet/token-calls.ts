/**
 * Token calls in a transaction's data, decoded for display: ERC-20 transfer / approve /
 * transferFrom, ERC-721 approve / transferFrom / safeTransferFrom, ERC-1155 safeTransferFrom /
 * safeBatchTransferFrom, and setApprovalForAll. A call is decoded only when its data is exactly
 * the canonical ABI encoding (32-byte words, clean address and bool words, dynamic parts where a
 * canonical encoder puts them, zero padding); anything else is left to the caller as an undecoded
 * contract call.
 *
 * ERC-20 and ERC-721 share the selectors of approve(address,uint256) and
 * transferFrom(address,address,uint256): which one a contract is comes from the request's token
 * details (ERC-165 as read by the extension). Without them the call is shown as ERC-20 in raw
 * units, with a note that the number is a token ID if the contract is an NFT collection.
 */
import { getAddress } from 'ethers';
import { NO_TOKEN_DETAILS_NOTE, TOKEN_DETAILS_NOTE, UNLIMITED_APPROVAL_THRESHOLD, contractText, tokenAmount, type TokenLookup } from './token-display.ts';
import type { DisplayField } from './display-model.ts';

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

export const UNLIMITED_APPROVAL_WARNING = 'Unlimited approval: this contract could move every token of this kind you hold, now or later.';
export const APPROVAL_FOR_ALL_WARNING = 'Full access: this operator could move every item of this collection you hold, now or later.';
export const NFT_APPROVAL_WARNING = 'The approved address could take this NFT from you at any time until you remove the approval.';

export interface ActionModel {
  readonly title: string;
  readonly fields: readonly DisplayField[];
  readonly warnings: readonly string[];
}

type AbiKind = 'address' | 'uint256' | 'bool' | 'bytes' | 'uint256[]';
type AbiValue = string | bigint | boolean | readonly bigint[];

const WORD = 64;
const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';

/** The canonical ABI decoding of `body` (hex after the selector), or null if it is anything else. */
function decodeAbi(body: string, kinds: readonly AbiKind[]): AbiValue[] | null {
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

function erc20Amount(label: string, value: bigint, contract: string, lookup: TokenLookup): DisplayField[] {
  const token = lookup(contract);
  const { amount, raw } = tokenAmount(value, token?.standard === 'erc20' ? token : undefined);
  return [{ label, value: amount }, ...(raw !== null ? [{ label: `${label} (raw units)`, value: raw }] : [])];
}

function tokenNote(contract: string, lookup: TokenLookup): DisplayField {
  return { label: 'Token details', value: lookup(contract) ? TOKEN_DETAILS_NOTE : NO_TOKEN_DETAILS_NOTE };
}

function erc20Action(selector: string, contract: string, values: AbiValue[], lookup: TokenLookup): ActionModel {
  const token = lookup(contract);
  const tokenField = { label: 'Token contract', value: contractText(contract, token) };
  if (selector === SELECTOR_ERC20_TRANSFER) {
    const [recipient, amount] = values as [string, bigint];
    return { title: 'Send tokens (ERC-20 transfer)', fields: [tokenField, { label: 'Recipient', value: recipient }, ...erc20Amount('Amount', amount, contract, lookup), tokenNote(contract, lookup)], warnings: [] };
  }
  if (selector === SELECTOR_ERC20_APPROVE) {
    const [spender, allowance] = values as [string, bigint];
    const unlimited = allowance >= UNLIMITED_APPROVAL_THRESHOLD;
    const allowanceFields: DisplayField[] =
      allowance === 0n ? [{ label: 'Allowance', value: '0 (removes the allowance)' }] : erc20Amount('Allowance', allowance, contract, lookup).map((entry, index) => (index === 0 && unlimited ? { ...entry, warning: UNLIMITED_APPROVAL_WARNING } : entry));
    return { title: 'Allow spending of your tokens (ERC-20 approve)', fields: [tokenField, { label: 'Spender', value: spender }, ...allowanceFields, tokenNote(contract, lookup)], warnings: unlimited ? [UNLIMITED_APPROVAL_WARNING] : [] };
  }
  const [holder, recipient, amount] = values as [string, string, bigint];
  return {
    title: 'Move tokens (ERC-20 transferFrom)',
    fields: [tokenField, { label: 'From holder', value: holder }, { label: 'Recipient', value: recipient }, ...erc20Amount('Amount', amount, contract, lookup), tokenNote(contract, lookup)],
    warnings: [],
  };
}

function erc721Action(selector: string, contract: string, values: AbiValue[], lookup: TokenLookup): ActionModel {
  const collection = { label: 'Collection', value: contractText(contract, lookup(contract)) };
  if (selector === SELECTOR_ERC20_APPROVE) {
    const [approved, tokenId] = values as [string, bigint];
    if (approved === ZERO_ADDRESS) return { title: 'Remove the approval of one NFT (ERC-721 approve)', fields: [collection, { label: 'Token ID', value: tokenId.toString() }], warnings: [] };
    return {
      title: 'Allow an address to take one NFT (ERC-721 approve)',
      fields: [collection, { label: 'Approved address', value: approved }, { label: 'Token ID', value: tokenId.toString(), warning: NFT_APPROVAL_WARNING }],
      warnings: [NFT_APPROVAL_WARNING],
    };
  }
  const [holder, recipient, tokenId, data] = values as [string, string, bigint, string | undefined];
  const method = selector === SELECTOR_ERC20_TRANSFER_FROM ? 'transferFrom' : 'safeTransferFrom';
  return {
    title: `Send an NFT (ERC-721 ${method})`,
    fields: [collection, { label: 'From holder', value: holder }, { label: 'Recipient', value: recipient }, { label: 'Token ID', value: tokenId.toString() }, ...(data !== undefined ? [{ label: 'Data for the recipient', value: data }] : [])],
    warnings: [],
  };
}

function erc1155Action(selector: string, contract: string, values: AbiValue[], lookup: TokenLookup): ActionModel {
  const collection = { label: 'Collection', value: contractText(contract, lookup(contract)) };
  if (selector === SELECTOR_ERC1155_SAFE_TRANSFER) {
    const [holder, recipient, id, amount, data] = values as [string, string, bigint, bigint, string];
    return {
      title: 'Send NFTs (ERC-1155 safeTransferFrom)',
      fields: [collection, { label: 'From holder', value: holder }, { label: 'Recipient', value: recipient }, { label: 'Token ID', value: id.toString() }, { label: 'Amount', value: amount.toString() }, { label: 'Data for the recipient', value: data }],
      warnings: [],
    };
  }
  const [holder, recipient, ids, amounts, data] = values as [string, string, readonly bigint[], readonly bigint[], string];
  const items = ids.map((id, index) => `token ID ${id.toString()} × ${(amounts[index] as bigint).toString()}`).join('\n');
  return {
    title: 'Send NFTs (ERC-1155 safeBatchTransferFrom)',
    fields: [collection, { label: 'From holder', value: holder }, { label: 'Recipient', value: recipient }, { label: 'Items', value: items || '(none)' }, { label: 'Data for the recipient', value: data }],
    warnings: [],
  };
}

function approvalForAllAction(contract: string, operator: string, approved: boolean): ActionModel {
  return {
    title: approved ? 'Allow access to all your items (setApprovalForAll)' : 'Remove access to all your items (setApprovalForAll)',
    fields: [{ label: 'Collection contract', value: contract }, { label: 'Operator', value: operator }, approved ? { label: 'Access', value: 'all items, now and later', warning: APPROVAL_FOR_ALL_WARNING } : { label: 'Access', value: 'removed' }],
    warnings: approved ? [APPROVAL_FOR_ALL_WARNING] : [],
  };
}

/** A recognised token call, or null when the data is not exactly one of their ABI encodings. */
export function tokenAction(contract: string, data: string, lookup: TokenLookup): ActionModel | null {
  const selector = data.slice(0, 10);
  const body = data.slice(10);
  const isNft = lookup(contract)?.standard === 'erc721';
  switch (selector) {
    case SELECTOR_ERC20_TRANSFER: {
      const values = decodeAbi(body, ['address', 'uint256']);
      return values && erc20Action(selector, contract, values, lookup);
    }
    case SELECTOR_ERC20_APPROVE: {
      const values = decodeAbi(body, ['address', 'uint256']);
      return values && (isNft ? erc721Action(selector, contract, values, lookup) : erc20Action(selector, contract, values, lookup));
    }
    case SELECTOR_ERC20_TRANSFER_FROM: {
      const values = decodeAbi(body, ['address', 'address', 'uint256']);
      return values && (isNft ? erc721Action(selector, contract, values, lookup) : erc20Action(selector, contract, values, lookup));
    }
    case SELECTOR_ERC721_SAFE_TRANSFER: {
      const values = decodeAbi(body, ['address', 'address', 'uint256']);
      return values && erc721Action(selector, contract, values, lookup);
    }
    case SELECTOR_ERC721_SAFE_TRANSFER_DATA: {
      const values = decodeAbi(body, ['address', 'address', 'uint256', 'bytes']);
      return values && erc721Action(selector, contract, values, lookup);
    }
    case SELECTOR_ERC1155_SAFE_TRANSFER: {
      const values = decodeAbi(body, ['address', 'address', 'uint256', 'uint256', 'bytes']);
      return values && erc1155Action(selector, contract, values, lookup);
    }
    case SELECTOR_ERC1155_SAFE_BATCH_TRANSFER: {
      const values = decodeAbi(body, ['address', 'address', 'uint256[]', 'uint256[]', 'bytes']);
      if (!values || (values[2] as readonly bigint[]).length !== (values[3] as readonly bigint[]).length) return null;
      return erc1155Action(selector, contract, values, lookup);
    }
    case SELECTOR_SET_APPROVAL_FOR_ALL: {
      const values = decodeAbi(body, ['address', 'bool']);
      return values && approvalForAllAction(contract, values[0] as string, values[1] as boolean);
    }
    default:
      return null;
  }
}
