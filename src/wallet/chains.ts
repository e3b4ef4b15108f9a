/**
 * Networks Duet knows: the local anvil chain by default, and presets for Ethereum mainnet and
 * Sepolia whose RPC URL the user sets.
 */
export interface Network {
  readonly chainId: number;
  readonly name: string;
  readonly rpcUrl: string;
  readonly symbol: string;
  readonly explorerUrl?: string;
}

export const LOCAL_CHAIN_ID = 31337;

export const DEFAULT_NETWORKS: readonly Network[] = [
  { chainId: LOCAL_CHAIN_ID, name: 'Local (anvil)', rpcUrl: 'http://127.0.0.1:8545', symbol: 'ETH' },
  { chainId: 1, name: 'Ethereum', rpcUrl: '', symbol: 'ETH', explorerUrl: 'https://etherscan.io' },
  { chainId: 11155111, name: 'Sepolia', rpcUrl: '', symbol: 'ETH', explorerUrl: 'https://sepolia.etherscan.io' },
];

export function chainName(chainId: number, networks: readonly Network[] = DEFAULT_NETWORKS): string {
  return networks.find((network) => network.chainId === chainId)?.name ?? `Chain ${chainId}`;
}

export function toHexChainId(chainId: number): string {
  return `0x${chainId.toString(16)}`;
}
