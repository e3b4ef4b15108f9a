/**
 * One handler per EIP-1193 method. Handlers check parameters first (-32602, nothing changed),
 * then either answer from state, proxy a read to the node, or ask the user through the approval
 * queue. The machinery they need comes in as a MethodBackend (the wallet service).
 */
import { rpcErrors } from '../provider/rpc-error.ts';
import { toHexChainId } from '../wallet/chains.ts';
import { encodeSigningRequest, type AccountRef, type SigningRequest } from '../wallet/signing-request.ts';
import { requestFingerprint, type ApprovalPayload, type SigningMethod } from './approval-queue.ts';
import { isLoopbackUrl, parseAddChainParams, parseSwitchChainParams } from './chain-params.ts';
import { findNetwork, requireNetwork } from './networks.ts';
import { eip2255Permissions, parsePermissionRequest, permittedAccounts, revokeOrigin } from './permissions.ts';
import type { WalletState, WalletStateStore } from './wallet-state.ts';
import { PROXIED_READ_METHODS } from './read-methods.ts';
import { personalSignRequest, transactionRequest, typedDataRequest, type RequestBase, type TransactionAdvice } from './request-builders.ts';
import type { RequestContext, RequestRouter } from './router.ts';
import { watchAssetHandler } from './watch-asset.ts';

export interface MethodBackend {
  readonly state: WalletStateStore;
  isUnlocked(): boolean;
  now(): number;
  newId(): string;
  /** JSON-RPC to the node of `chainId`. */
  rpc(chainId: number, method: string, params: readonly unknown[]): Promise<unknown>;
  /** Resolves once Duet is unlocked (asking the user for the password while locked). */
  whenUnlocked(context: RequestContext): Promise<void>;
  /** Queues an approval, opens the window, and resolves with the executed result (or throws 4001 …). */
  askUser(context: RequestContext, fingerprint: string, payload: ApprovalPayload): Promise<unknown>;
  /** Switches the active chain and tells every page. */
  switchChain(chainId: number): Promise<void>;
  /** Tells an origin its accounts changed. */
  announceAccounts(origin: string): Promise<void>;
  /** The nonce after this account's transactions already waiting for approval on this chain. */
  queuedNonce(address: string, chainId: number): number | null;
}

function noParams(method: string, params: unknown): void {
  if (params !== undefined && !(Array.isArray(params) && params.length === 0)) throw rpcErrors.invalidParams(`${method} takes no parameters.`);
}

function listParams(method: string, params: unknown): readonly unknown[] {
  if (params === undefined) return [];
  if (!Array.isArray(params)) throw rpcErrors.invalidParams(`${method} expects an array of parameters.`);
  return params;
}

function requireSetUp(state: WalletState): void {
  if (state.accounts.length === 0) throw rpcErrors.unauthorized('Duet is not set up yet: open Duet and pair your phone first.');
}

/** Accounts this origin may sign with: from the stored permission, so a locked wallet can still queue. */
function signerLookup(state: WalletState, origin: string) {
  const permitted = state.permissions[origin]?.accounts ?? [];
  return (address: string, field: string): AccountRef => {
    const account = state.accounts.find((candidate) => candidate.address === address);
    if (!account || !permitted.includes(account.address)) throw rpcErrors.unauthorized(`${field} ${address} is not an account connected to ${origin}. Call eth_requestAccounts first.`);
    return { index: account.index, address: account.address };
  };
}

export function registerProviderMethods(router: RequestRouter, backend: MethodBackend): RequestRouter {
  const accountsFor = async (origin: string) => (backend.isUnlocked() ? permittedAccounts(await backend.state.read(), origin) : []);

  /** eth_requestAccounts and wallet_requestPermissions share one fingerprint per origin. */
  const connectFingerprint = (origin: string) => requestFingerprint(origin, 'connect', null);

  const requestAccounts = async (params: unknown, context: RequestContext) => {
    noParams('eth_requestAccounts', params);
    await backend.whenUnlocked(context);
    requireSetUp(await backend.state.read());
    const existing = await accountsFor(context.origin);
    if (existing.length > 0) return existing;
    return backend.askUser(context, connectFingerprint(context.origin), { kind: 'connect', method: 'eth_requestAccounts' });
  };

  type Built = { readonly request: SigningRequest; readonly advice?: TransactionAdvice };
  const signing = (method: SigningMethod, build: (params: unknown, base: RequestBase, state: WalletState, origin: string) => Promise<Built>) => async (params: unknown, context: RequestContext) => {
    const { origin } = context;
    if (!Array.isArray(params)) throw rpcErrors.invalidParams(`${method} expects an array of parameters.`);
    await backend.whenUnlocked(context);
    const state = await backend.state.read();
    requireSetUp(state);
    if (!state.permissions[origin]) throw rpcErrors.unauthorized(`${origin} is not connected to Duet. Call eth_requestAccounts first.`);
    const base: RequestBase = { id: backend.newId(), origin, chainId: state.activeChainId, createdAt: backend.now() };
    const { request, advice } = await build(params, base, state, origin);
    return backend.askUser(context, requestFingerprint(origin, method, params), { kind: 'sign', method, request: encodeSigningRequest(request), ...(advice ? { advice } : {}) });
  };

  const switchOrAsk = async (chainId: number, context: RequestContext) => {
    const state = await backend.state.read();
    requireNetwork(state, chainId);
    if (state.activeChainId === chainId) return null;
    if (backend.isUnlocked() && state.permissions[context.origin]) await backend.switchChain(chainId);
    else await backend.askUser(context, requestFingerprint(context.origin, 'wallet_switchEthereumChain', chainId), { kind: 'switch-chain', chainId });
    return null;
  };

  router
    .register('eth_chainId', async (params) => {
      noParams('eth_chainId', params);
      return toHexChainId((await backend.state.read()).activeChainId);
    })
    .register('net_version', async (params) => {
      noParams('net_version', params);
      return String((await backend.state.read()).activeChainId);
    })
    .register('eth_accounts', async (params, { origin }) => {
      noParams('eth_accounts', params);
      return accountsFor(origin);
    })
    .register('eth_coinbase', async (params, { origin }) => {
      noParams('eth_coinbase', params);
      return (await accountsFor(origin))[0] ?? null;
    })
    .register('eth_requestAccounts', requestAccounts)
    .register('wallet_requestPermissions', async (params, context) => {
      parsePermissionRequest('wallet_requestPermissions', params);
      await backend.whenUnlocked(context);
      requireSetUp(await backend.state.read());
      return backend.askUser(context, connectFingerprint(context.origin), { kind: 'connect', method: 'wallet_requestPermissions' });
    })
    .register('wallet_getPermissions', async (params, { origin }) => {
      noParams('wallet_getPermissions', params);
      return eip2255Permissions(await backend.state.read(), origin);
    })
    .register('wallet_revokePermissions', async (params, context) => {
      parsePermissionRequest('wallet_revokePermissions', params);
      await backend.whenUnlocked(context);
      if (await backend.state.update((draft) => revokeOrigin(draft, context.origin))) await backend.announceAccounts(context.origin);
      return null;
    })
    .register('wallet_switchEthereumChain', async (params, context) => switchOrAsk(parseSwitchChainParams(params), context))
    .register('wallet_addEthereumChain', async (params, context) => {
      const request = parseAddChainParams(params);
      if (findNetwork(await backend.state.read(), request.chainId)) return switchOrAsk(request.chainId, context);
      // The extension may reach this computer's services without CORS: a web site must not point it there.
      if (isLoopbackUrl(request.rpcUrl) && !isLoopbackUrl(context.origin)) throw rpcErrors.invalidParams('rpcUrls[0]: a web site cannot add a network on this computer (localhost, 127.0.0.1). Add it yourself in Duet → Networks.');
      // Nothing is sent to the RPC before the user approves (execute checks its chain id then).
      await backend.askUser(context, requestFingerprint(context.origin, 'wallet_addEthereumChain', request.chainId), { kind: 'add-chain', network: request });
      return null;
    })
    .register('eth_sign', async () => {
      throw rpcErrors.unsupportedMethod('eth_sign is disabled in Duet: it signs an opaque hash, which can be a transaction in disguise. Use personal_sign or eth_signTypedData_v4.');
    })
    .register('personal_sign', signing('personal_sign', async (params, base, state, origin) => ({ request: personalSignRequest(params, base, signerLookup(state, origin)) })))
    .register('eth_signTypedData_v4', signing('eth_signTypedData_v4', async (params, base, state, origin) => ({ request: typedDataRequest(params, base, signerLookup(state, origin)) })))
    .register(
      'eth_sendTransaction',
      signing('eth_sendTransaction', async (params, base, state, origin) => {
        const lookup = signerLookup(state, origin);
        const from = (Array.isArray(params) && typeof params[0] === 'object' && params[0] !== null ? (params[0] as { from?: unknown }).from : undefined) ?? null;
        const queuedNonce = typeof from === 'string' ? backend.queuedNonce(from, base.chainId) : null;
        return transactionRequest(params, base, lookup, { rpc: (method, rpcParams) => backend.rpc(base.chainId, method, rpcParams), queuedNonce });
      }),
    )
    .register('wallet_watchAsset', watchAssetHandler(backend))
    .registerFallback((method) => {
      if (!PROXIED_READ_METHODS.has(method)) return undefined;
      return async (params) => backend.rpc((await backend.state.read()).activeChainId, method, listParams(method, params));
    });
  return router;
}
