/**
 * The networks list: presets (local anvil by default, Ethereum, Sepolia) with user-set RPC URLs,
 * and networks added by the user or by a site (EIP-3085, after the user approved).
 */
import { rpcErrors } from '../provider/rpc-error.ts';
import { toHexChainId } from '../wallet/chains.ts';
import type { AddChainRequest } from './chain-params.ts';
import type { Mutable, WalletState, WalletNetwork } from './wallet-state.ts';

export function findNetwork(state: WalletState, chainId: number): WalletNetwork | undefined {
  return state.networks.find((network) => network.chainId === chainId);
}

export function requireNetwork(state: WalletState, chainId: number): WalletNetwork {
  const network = findNetwork(state, chainId);
  if (!network) throw rpcErrors.unrecognizedChain(`Unrecognized chain ID ${toHexChainId(chainId)}. Add it with wallet_addEthereumChain first.`);
  return network;
}

export function addNetwork(draft: Mutable<WalletState>, request: AddChainRequest): void {
  if (findNetwork(draft, request.chainId)) throw rpcErrors.invalidParams(`Chain ${request.chainId} is already in Duet.`);
  draft.networks = [...draft.networks, { ...request, preset: false }];
}

export function switchNetwork(draft: Mutable<WalletState>, chainId: number): boolean {
  requireNetwork(draft, chainId);
  if (draft.activeChainId === chainId) return false;
  draft.activeChainId = chainId;
  return true;
}

export function setNetworkRpcUrl(draft: Mutable<WalletState>, chainId: number, rpcUrl: string): void {
  requireNetwork(draft, chainId);
  draft.networks = draft.networks.map((network) => (network.chainId === chainId ? { ...network, rpcUrl } : network));
}

export function removeNetwork(draft: Mutable<WalletState>, chainId: number): void {
  const network = requireNetwork(draft, chainId);
  if (network.preset) throw rpcErrors.invalidParams(`${network.name} is built in; you can change its RPC URL but not remove it.`);
  if (draft.activeChainId === chainId) throw rpcErrors.invalidParams(`${network.name} is the active network; switch to another one first.`);
  draft.networks = draft.networks.filter((candidate) => candidate.chainId !== chainId);
}
