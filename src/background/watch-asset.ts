/**
 * wallet_watchAsset (EIP-747) for ERC-20 tokens: the site suggests a token, the user approves it
 * in the window, and it joins the token list (token-list.ts, addWatchedToken). Kept minimal and on
 * its own: the dApp-compatibility work extends it (ERC-721/1155) around the same token list.
 *
 * Params: `{ type: "ERC20", options: { address, symbol?, decimals?, image? } }` (also inside a
 * one-element array, as some libraries send it). The symbol and decimals shown and stored are the
 * contract's own; a site's `decimals` that differ are refused (-32602: amounts would be shown
 * wrong), a different `symbol` is shown as a warning on the card. A token already in the list is
 * answered `true` without asking. Rejected: 4001.
 */
import { getAddress } from 'ethers';
import { rpcErrors } from '../provider/rpc-error.ts';
import { requestFingerprint } from './approval-queue.ts';
import type { MethodBackend } from './provider-methods.ts';
import type { RequestContext } from './router.ts';
import { findToken, readTokenMetadata } from './token-list.ts';
import { WalletActionError } from './wallet-action-error.ts';

const OPTION_KEYS = new Set(['address', 'symbol', 'decimals', 'image']);

export interface WatchAssetParams {
  readonly address: string;
  readonly symbol: string | null;
  readonly decimals: number | null;
}

export function parseWatchAssetParams(params: unknown): WatchAssetParams {
  const raw = Array.isArray(params) && params.length === 1 ? params[0] : params;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw rpcErrors.invalidParams('wallet_watchAsset expects { type, options }.');
  const { type, options } = raw as { type?: unknown; options?: unknown };
  if (type !== 'ERC20') throw rpcErrors.invalidParams(`wallet_watchAsset: Duet lists ERC20 tokens; type ${typeof type === 'string' ? type : '(missing)'} is not supported.`);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw rpcErrors.invalidParams('options must be an object.');
  const fields = options as Record<string, unknown>;
  const unexpected = Object.keys(fields).find((key) => !OPTION_KEYS.has(key));
  if (unexpected !== undefined) throw rpcErrors.invalidParams(`options.${unexpected} is not an EIP-747 field.`);
  let address: string;
  try {
    if (typeof fields.address !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(fields.address)) throw new Error('shape');
    address = getAddress(fields.address);
  } catch {
    throw rpcErrors.invalidParams('options.address must be a token contract address (EIP-55 checksum when mixed case).');
  }
  if (fields.symbol !== undefined && typeof fields.symbol !== 'string') throw rpcErrors.invalidParams('options.symbol must be a string.');
  const decimals = fields.decimals === undefined ? null : typeof fields.decimals === 'string' && /^\d{1,2}$/.test(fields.decimals) ? Number(fields.decimals) : fields.decimals;
  if (decimals !== null && (typeof decimals !== 'number' || !Number.isInteger(decimals) || decimals < 0)) throw rpcErrors.invalidParams('options.decimals must be a whole number.');
  return { address, symbol: (fields.symbol as string | undefined) ?? null, decimals };
}

export function watchAssetHandler(backend: MethodBackend) {
  return async (params: unknown, context: RequestContext): Promise<boolean> => {
    const wanted = parseWatchAssetParams(params);
    await backend.whenUnlocked(context);
    const state = await backend.state.read();
    if (state.accounts.length === 0) throw rpcErrors.unauthorized('Duet is not set up yet: open Duet and pair your phone first.');
    const chainId = state.activeChainId;
    if (findToken(state, chainId, wanted.address)) return true;
    let token;
    try {
      token = await readTokenMetadata((method, rpcParams) => backend.rpc(chainId, method, rpcParams), wanted.address, 'options.address');
    } catch (error) {
      if (error instanceof WalletActionError) throw rpcErrors.invalidParams(`${error.field}: ${error.message}`);
      throw error;
    }
    if (wanted.decimals !== null && wanted.decimals !== token.decimals) throw rpcErrors.invalidParams(`options.decimals: the token has ${token.decimals} decimals, not ${wanted.decimals}.`);
    await backend.askUser(context, requestFingerprint(context.origin, 'wallet_watchAsset', [chainId, token.address]), { kind: 'watch-asset', chainId, token, siteSymbol: wanted.symbol });
    return true;
  };
}
