/**
 * How a transaction changes the sending account's balances, from the request alone (and the
 * token's symbol and decimals from the request's `tokens`, raw units without them): the native
 * amount sent plus at most gas × max fee; the tokens moved by a transfer / transferFrom to or from
 * the account (for an ERC-721 collection, the token ID moved); for approvals, no change now and
 * what the spender may take later.
 */
import { formatEther, formatUnits, getAddress } from 'ethers';
import { presetNetwork } from './chains.ts';
import { UNLIMITED_APPROVAL_THRESHOLD, type DisplayField } from './decode.ts';
import { maxFeePerGasOf, type TransactionRequest } from './signing-request.ts';
import { readTokenCall } from './token-call.ts';
import { tokenLookup } from './token-display.ts';

function tokenUnits(request: TransactionRequest, amount: bigint): { text: string; symbol: string; nft: boolean } {
  const token = tokenLookup(request)(request.tx.to as string);
  if (token?.standard === 'erc721') return { text: `token ID ${amount.toString()}`, symbol: token.symbol ? `${token.symbol} NFT` : 'NFT', nft: true };
  if (token?.standard !== 'erc20' || token.decimals === null) return { text: `${amount.toString()} raw units`, symbol: token?.symbol ? `${token.symbol} token` : 'token', nft: false };
  return { text: `${formatUnits(amount, token.decimals)} ${token.symbol ?? '(token units)'}`, symbol: token.symbol ? `${token.symbol} token` : 'token', nft: false };
}

function nativeChange(request: TransactionRequest): DisplayField {
  const { tx, chainId } = request;
  const symbol = presetNetwork(chainId)?.symbol ?? 'native currency';
  const fee = `${formatEther(tx.gas * maxFeePerGasOf(tx))} ${symbol}`;
  return { label: `Balance change: ${symbol}`, value: tx.value === 0n ? `only the network fee, at most ${fee}` : `−${formatEther(tx.value)} ${symbol}, plus a network fee of at most ${fee}` };
}

function tokenChange(request: TransactionRequest): DisplayField | null {
  const { tx } = request;
  const call = tx.to === null || tx.data === '0x' ? null : readTokenCall(tx.data);
  if (!call) return null;
  const account = getAddress(request.account.address);
  switch (call.kind) {
    case 'transfer': {
      const { text, symbol } = tokenUnits(request, call.amount);
      return { label: `Balance change: ${symbol}`, value: `−${text}` };
    }
    case 'transferFrom': {
      const { text, symbol } = tokenUnits(request, call.amount);
      if (call.from === account && call.to === account) return { label: `Balance change: ${symbol}`, value: 'none (from this account to itself)' };
      if (call.from === account) return { label: `Balance change: ${symbol}`, value: `−${text}` };
      if (call.to === account) return { label: `Balance change: ${symbol}`, value: `+${text}` };
      return { label: `Balance change: ${symbol}`, value: 'none for this account (moves another holder’s tokens)' };
    }
    case 'approve': {
      const { text, symbol, nft } = tokenUnits(request, call.amount);
      if (nft) return { label: `Balance change: ${symbol}`, value: /^0x0{40}$/.test(call.spender) ? `none; removes the approval of ${text}` : `none now; ${call.spender} may take ${text}` };
      if (call.amount === 0n) return { label: `Balance change: ${symbol}`, value: `none; removes ${call.spender}’s allowance` };
      const limit = call.amount >= UNLIMITED_APPROVAL_THRESHOLD ? 'all of it, now and later' : `up to ${text}`;
      return { label: `Balance change: ${symbol}`, value: `none now; ${call.spender} may take ${limit}` };
    }
    case 'setApprovalForAll':
      return call.approved ? { label: 'Balance change: collection', value: `none now; ${call.operator} may take every item of this collection` } : null;
  }
}

/** What a transaction moves, in units ("0.5 ETH", "100.0 DEMO"), for lists; null when it moves nothing. */
export function movedAmount(request: TransactionRequest): string | null {
  const { tx, chainId } = request;
  const call = tx.to === null || tx.data === '0x' ? null : readTokenCall(tx.data);
  if (call?.kind === 'transfer' || call?.kind === 'transferFrom') return tokenUnits(request, call.amount).text;
  return tx.value === 0n ? null : `${formatEther(tx.value)} ${presetNetwork(chainId)?.symbol ?? 'native currency'}`;
}

/** The balance-change rows for a transaction: native first, then the token. */
export function balanceChanges(request: TransactionRequest): DisplayField[] {
  const token = tokenChange(request);
  return token ? [nativeChange(request), token] : [nativeChange(request)];
}
