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
import {
  SELECTOR_ERC1155_SAFE_BATCH_TRANSFER,
  SELECTOR_ERC1155_SAFE_TRANSFER,
  SELECTOR_ERC20_APPROVE,
  SELECTOR_ERC20_TRANSFER,
  SELECTOR_ERC20_TRANSFER_FROM,
  SELECTOR_ERC721_SAFE_TRANSFER,
  SELECTOR_ERC721_SAFE_TRANSFER_DATA,
  SELECTOR_SET_APPROVAL_FOR_ALL,
  decodeAbi,
  type AbiValue,
} from './token-call.ts';
import { NO_TOKEN_DETAILS_NOTE, TOKEN_DETAILS_NOTE, UNLIMITED_APPROVAL_THRESHOLD, contractText, tokenAmount, type TokenLookup } from './token-display.ts';
import type { DisplayField } from './display-model.ts';

export const UNLIMITED_APPROVAL_WARNING = 'Unlimited approval: this contract could move every token of this kind you hold, now or later.';
export const APPROVAL_FOR_ALL_WARNING = 'Full access: this operator could move every item of this collection you hold, now or later.';
export const NFT_APPROVAL_WARNING = 'The approved address could take this NFT from you at any time until you remove the approval.';

export interface ActionModel {
  readonly title: string;
  readonly fields: readonly DisplayField[];
  readonly warnings: readonly string[];
}

const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000';

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
