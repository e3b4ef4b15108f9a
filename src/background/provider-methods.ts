/**
 * One handler per EIP-1193 method. Handlers check parameters first (-32602, nothing changed),
 * then either answer from state, proxy a read to the node, or ask the user through the approval
 * queue. The machinery they need comes in as a MethodBackend (the wallet service).
 */
import { Signature, getAddress, getBytes, hashMessage, recoverAddress } from 'ethers';
import { rpcErrors } from '../provider/rpc-error.ts';
import { toHexChainId } from '../wallet/chains.ts';
import { personalMessageHex } from '../wallet/personal-message.ts';
import { encodeSigningRequest, type AccountRef, type SigningRequest } from '../wallet/signing-request.ts';
import { WalletError } from '../wallet/wallet-error.ts';
import { requestFingerprint, type ApprovalPayload, type SigningMethod } from './approval-queue.ts';
import { batchSender, capabilities, parseSendCalls, type SendCallsRequest } from './call-batches.ts';
import { isLoopbackUrl, parseAddChainParams, parseHexChainId, parseSwitchChainParams } from './chain-params.ts';
import { findNetwork, requireNetwork } from './networks.ts';
import { eip2255Permissions, isPermittedChain, pageAccounts, parsePermissionRequest, permittedAccounts, revokeOrigin, siteChainId } from './permissions.ts';
import type { WalletState, WalletStateStore } from './wallet-state.ts';
import { PROXIED_READ_METHODS } from './read-methods.ts';
import { addressParam, legacyTypedDataRequest, personalSignRequest, transactionRequest, typedDataRequest, type RequestBase, type TransactionAdvice } from './request-builders.ts';
import type { RequestContext, RequestRouter } from './router.ts';
import { checkWatchAsset, isWatched, parseWatchAssetParams } from './watch-asset.ts';

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
  /** Switches the wallet's network and tells every page that follows it (those not on a network of their own). */
  switchChain(chainId: number): Promise<void>;
  /** Moves a connected site to `chainId` and tells that site only. */
  switchSiteChain(origin: string, chainId: number): Promise<void>;
  /** Tells an origin its accounts changed. */
  announceAccounts(origin: string): Promise<void>;
  /** The nonce after this account's transactions already waiting for approval on this chain. */
  queuedNonce(address: string, chainId: number): number | null;
  /** Whether the site has requests waiting for the user in the approval window. */
  hasRequestsAwaitingUser(origin: string): boolean;
  /** Starts an EIP-5792 batch: resolves with its id once the first call is sent (call-batches.ts). */
  sendCalls(context: RequestContext, batch: SendCallsRequest & { readonly from: string }): Promise<{ id: string }>;
  /** wallet_getCallsStatus for a batch of this site (5730 if it has none by that id). */
  callsStatus(origin: string, id: string): Promise<unknown>;
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
    const account = state.accounts.find((candidate) => candidate.address.toLowerCase() === address.toLowerCase());
    if (!account || !permitted.includes(account.address)) throw rpcErrors.unauthorized(`${field} ${address} is not an account connected to ${origin}. Call eth_requestAccounts first.`);
    return { index: account.index, address: account.address };
  };
}

/** personal_ecRecover [message, signature]: the signer of a personal_sign signature, lowercase (as MetaMask). */
function recoverPersonalSigner(params: unknown): string {
  if (!Array.isArray(params) || params.length !== 2) throw rpcErrors.invalidParams('personal_ecRecover expects [message, signature].');
  let message: string;
  try {
    message = personalMessageHex(params[0], 'params[0] (message)');
  } catch (error) {
    throw error instanceof WalletError ? rpcErrors.invalidParams(error.message) : error;
  }
  const signature = params[1];
  if (typeof signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(signature)) throw rpcErrors.invalidParams('params[1] (signature) must be 65 bytes of 0x-hex.');
  try {
    return recoverAddress(hashMessage(getBytes(message)), Signature.from(signature)).toLowerCase();
  } catch {
    throw rpcErrors.invalidParams('params[1] (signature) is not a valid signature.');
  }
}

export function registerProviderMethods(router: RequestRouter, backend: MethodBackend): RequestRouter {
  const accountsFor = async (origin: string) => (backend.isUnlocked() ? pageAccounts(await backend.state.read(), origin) : []);
  const connected = async (context: RequestContext): Promise<WalletState> => {
    await backend.whenUnlocked(context);
    const state = await backend.state.read();
    requireSetUp(state);
    if (!state.permissions[context.origin]) throw rpcErrors.unauthorized(`${context.origin} is not connected to Duet. Call eth_requestAccounts first.`);
    return state;
  };

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
    const state = await connected(context);
    const base: RequestBase = { id: backend.newId(), origin, chainId: siteChainId(state, origin), createdAt: backend.now(), ...(context.embeddedIn ? { embeddedIn: context.embeddedIn } : {}) };
    const built = await build(params, base, state, origin);
    return backend.askUser(context, requestFingerprint(origin, method, params), {
      kind: 'sign',
      method,
      request: encodeSigningRequest(built.request),
      ...(built.advice ? { advice: built.advice } : {}),
      ...(context.batchCall ? { batch: context.batchCall } : {}),
    });
  };

  /**
   * As MetaMask: a connected site switches at once to a chain it may use (its permitted chains),
   * unless it has requests waiting for the user; otherwise the user confirms (and the chain becomes
   * permitted for the site). A connected site has a network of its own: only it moves and hears
   * chainChanged; a site that is not connected moves the wallet's network once the user confirms.
   */
  const switchOrAsk = async (chainId: number, context: RequestContext) => {
    const state = await backend.state.read();
    requireNetwork(state, chainId);
    if (siteChainId(state, context.origin) === chainId) return null;
    if (backend.isUnlocked() && isPermittedChain(state, context.origin, chainId) && !backend.hasRequestsAwaitingUser(context.origin)) await backend.switchSiteChain(context.origin, chainId);
    else await backend.askUser(context, requestFingerprint(context.origin, 'wallet_switchEthereumChain', chainId), { kind: 'switch-chain', chainId });
    return null;
  };

  router
    .register('eth_chainId', async (params, { origin }) => {
      noParams('eth_chainId', params);
      return toHexChainId(siteChainId(await backend.state.read(), origin));
    })
    .register('net_version', async (params, { origin }) => {
      noParams('net_version', params);
      return String(siteChainId(await backend.state.read(), origin));
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
    .register('personal_ecRecover', async (params) => recoverPersonalSigner(params))
    .register('wallet_watchAsset', async (params, context) => {
      const parsed = parseWatchAssetParams(params);
      const state = await connected(context);
      const account = permittedAccounts(state, context.origin)[0] as string;
      const chainId = siteChainId(state, context.origin);
      const asset = await checkWatchAsset(parsed, (method, rpcParams) => backend.rpc(chainId, method, rpcParams), chainId, account);
      if (isWatched(state, asset)) return true;
      await backend.askUser(context, requestFingerprint(context.origin, 'wallet_watchAsset', params), { kind: 'watch-asset', asset });
      return true;
    })
    .register('wallet_getCapabilities', async (params, { origin }) => {
      if (!Array.isArray(params) || params.length < 1 || params.length > 2) throw rpcErrors.invalidParams('wallet_getCapabilities expects [address, chainIds?].');
      const address = addressParam(params[0], 'params[0] (address)');
      const state = await backend.state.read();
      if (!backend.isUnlocked() || !permittedAccounts(state, origin).includes(getAddress(address))) throw rpcErrors.unauthorized(`${address} is not an account connected to ${origin}.`);
      const known = state.networks.map((network) => network.chainId);
      if (params[1] === undefined) return capabilities(known);
      if (!Array.isArray(params[1])) throw rpcErrors.invalidParams('params[1] (chainIds) must be an array.');
      const asked = params[1].map((chainId: unknown, index) => parseHexChainId(chainId, `params[1][${index}]`));
      return capabilities(asked.filter((chainId) => known.includes(chainId)));
    })
    .register('wallet_sendCalls', async (params, context) => {
      const { networks } = await backend.state.read();
      const parsed = parseSendCalls(params, (chainId) => networks.some((network) => network.chainId === chainId));
      const current = await connected(context);
      if (parsed.chainId !== siteChainId(current, context.origin)) throw rpcErrors.invalidParams(`chainId ${toHexChainId(parsed.chainId)} is not this site's network: switch to it first (wallet_switchEthereumChain).`);
      return backend.sendCalls(context, { ...parsed, from: batchSender(parsed.from, permittedAccounts(current, context.origin)) });
    })
    .register('wallet_getCallsStatus', async (params, { origin }) => {
      if (!Array.isArray(params) || params.length !== 1 || typeof params[0] !== 'string') throw rpcErrors.invalidParams('wallet_getCallsStatus expects [id].');
      return backend.callsStatus(origin, params[0]);
    })
    .register('eth_sign', async () => {
      throw rpcErrors.unsupportedMethod('eth_sign is disabled in Duet: it signs an opaque hash, which can be a transaction in disguise. Use personal_sign or eth_signTypedData_v4.');
    })
    .register('personal_sign', signing('personal_sign', async (params, base, state, origin) => ({ request: personalSignRequest(params, base, signerLookup(state, origin)) })))
    .register('eth_signTypedData', signing('eth_signTypedData', async (params, base, state, origin) => ({ request: legacyTypedDataRequest(params, base, signerLookup(state, origin)) })))
    .register('eth_signTypedData_v3', signing('eth_signTypedData_v3', async (params, base, state, origin) => ({ request: typedDataRequest(params, base, signerLookup(state, origin), 'v3') })))
    .register('eth_signTypedData_v4', signing('eth_signTypedData_v4', async (params, base, state, origin) => ({ request: typedDataRequest(params, base, signerLookup(state, origin), 'v4') })))
    .register(
      'eth_sendTransaction',
      signing('eth_sendTransaction', async (params, base, state, origin) => {
        const lookup = signerLookup(state, origin);
        const from = (Array.isArray(params) && typeof params[0] === 'object' && params[0] !== null ? (params[0] as { from?: unknown }).from : undefined) ?? null;
        const queuedNonce = typeof from === 'string' ? backend.queuedNonce(from, base.chainId) : null;
        return transactionRequest(params, base, lookup, { rpc: (method, rpcParams) => backend.rpc(base.chainId, method, rpcParams), queuedNonce });
      }),
    )
    .registerFallback((method) => {
      if (!PROXIED_READ_METHODS.has(method)) return undefined;
      return async (params, { origin }) => backend.rpc(siteChainId(await backend.state.read(), origin), method, listParams(method, params));
    });
  return router;
}
