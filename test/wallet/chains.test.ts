import { describe, expect, it } from 'vitest';
import {
  DEFAULT_NETWORKS,
  LOCAL_CHAIN_ID,
  LOCAL_RPC_URL,
  MAX_SAFE_CHAIN_ID,
  chainName,
  networkFromChainParameter,
  parseAddEthereumChainParameter,
  parseHexChainId,
  toHexChainId,
  withRpcUrl,
} from '../../src/wallet/chains.ts';
import { expectWalletError, withChange } from './wallet-fixtures.ts';

const BASE = {
  chainId: '0x2105',
  chainName: 'Base',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: ['https://mainnet.base.org'],
  blockExplorerUrls: ['https://basescan.org'],
};

describe('networks', () => {
  it('ships anvil (default, with its RPC URL), mainnet and Sepolia (RPC URL set by the user)', () => {
    expect(DEFAULT_NETWORKS.map((network) => [network.chainId, network.rpcUrl])).toEqual([
      [LOCAL_CHAIN_ID, LOCAL_RPC_URL],
      [1, ''],
      [11155111, ''],
    ]);
    expect(chainName(11155111)).toBe('Sepolia');
    expect(chainName(8453)).toBe('Chain 8453');
    expect(toHexChainId(31337)).toBe('0x7a69');
  });

  it('sets a user RPC URL on a preset, https or loopback http only', () => {
    const mainnet = DEFAULT_NETWORKS[1]!;
    expect(withRpcUrl(mainnet, 'https://eth.example/v3/key').rpcUrl).toBe('https://eth.example/v3/key');
    expect(withRpcUrl(mainnet, 'http://localhost:8545').rpcUrl).toBe('http://localhost:8545');
    expectWalletError(() => withRpcUrl(mainnet, 'http://node.example:8545'), 'bad_chain_params', 'rpcUrl');
    expectWalletError(() => withRpcUrl(mainnet, 'ws://127.0.0.1:8545'), 'bad_chain_params', 'rpcUrl');
    expectWalletError(() => withRpcUrl(mainnet, 'not a url'), 'bad_chain_params', 'rpcUrl');
  });
});

describe('wallet_addEthereumChain parameter (EIP-3085)', () => {
  it('accepts a complete parameter and makes a network of it', () => {
    const param = parseAddEthereumChainParameter(withChange(BASE, (p) => (p.iconUrls = ['https://example.org/icon.svg'])));
    expect(param).toEqual({ chainId: 8453, chainName: 'Base', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: ['https://mainnet.base.org'], blockExplorerUrls: ['https://basescan.org'] });
    expect(networkFromChainParameter(param)).toEqual({ chainId: 8453, name: 'Base', rpcUrl: 'https://mainnet.base.org', symbol: 'ETH', explorerUrl: 'https://basescan.org' });
    expect(networkFromChainParameter(parseAddEthereumChainParameter(withChange(BASE, (p) => delete p.blockExplorerUrls)))).not.toHaveProperty('explorerUrl');
  });

  it('parses hex chain ids without leading zeros, up to MetaMask\'s safe maximum', () => {
    expect(parseHexChainId('0x1', 'chainId')).toBe(1);
    expect(parseHexChainId(toHexChainId(MAX_SAFE_CHAIN_ID), 'chainId')).toBe(MAX_SAFE_CHAIN_ID);
    for (const bad of ['0x01', '0x0', '1', 1, '0x', '0xg1', toHexChainId(MAX_SAFE_CHAIN_ID + 1), `0x1${'0'.repeat(40)}`]) expectWalletError(() => parseHexChainId(bad, 'chainId'), 'bad_chain_params', 'chainId');
  });

  const cases: [string, (p: Record<string, any>) => void, string][] = [
    ['an unknown key', (p) => (p.rpcUrl = 'https://x.example'), 'params[0].rpcUrl'],
    ['a chain id with a leading zero', (p) => (p.chainId = '0x02105'), 'params[0].chainId'],
    ['a decimal chain id', (p) => (p.chainId = 8453), 'params[0].chainId'],
    ['a missing chainName', (p) => delete p.chainName, 'params[0].chainName'],
    ['an empty chainName', (p) => (p.chainName = '  '), 'params[0].chainName'],
    ['a chainName with a direction override', (p) => (p.chainName = 'Base\u202Eteniam'), 'params[0].chainName'],
    ['a missing nativeCurrency', (p) => delete p.nativeCurrency, 'params[0].nativeCurrency'],
    ['an unknown nativeCurrency key', (p) => (p.nativeCurrency.logo = 'x'), 'params[0].nativeCurrency.logo'],
    ['a one-letter symbol', (p) => (p.nativeCurrency.symbol = 'E'), 'params[0].nativeCurrency.symbol'],
    ['a seven-letter symbol', (p) => (p.nativeCurrency.symbol = 'ETHEREU'), 'params[0].nativeCurrency.symbol'],
    ['decimals other than 18', (p) => (p.nativeCurrency.decimals = 6), 'params[0].nativeCurrency.decimals'],
    ['decimals as a string', (p) => (p.nativeCurrency.decimals = '18'), 'params[0].nativeCurrency.decimals'],
    ['a missing currency name', (p) => delete p.nativeCurrency.name, 'params[0].nativeCurrency.name'],
    ['no rpcUrls', (p) => delete p.rpcUrls, 'params[0].rpcUrls'],
    ['an empty rpcUrls', (p) => (p.rpcUrls = []), 'params[0].rpcUrls'],
    ['an rpcUrl that is not http(s)', (p) => p.rpcUrls.push('wss://mainnet.base.org'), 'params[0].rpcUrls[1]'],
    ['a plain-http rpcUrl to another host', (p) => (p.rpcUrls = ['http://mainnet.base.org']), 'params[0].rpcUrls[0]'],
    ['an rpcUrl that is not a string', (p) => (p.rpcUrls = [42]), 'params[0].rpcUrls[0]'],
    ['blockExplorerUrls that are not an array', (p) => (p.blockExplorerUrls = 'https://basescan.org'), 'params[0].blockExplorerUrls'],
    ['an http explorer', (p) => (p.blockExplorerUrls = ['http://basescan.org']), 'params[0].blockExplorerUrls[0]'],
    ['iconUrls that are not an array', (p) => (p.iconUrls = 'https://x.example/i.png'), 'params[0].iconUrls'],
  ];
  it('refuses a parameter that is not an object', () => {
    for (const bad of [null, [BASE], 'Base']) expectWalletError(() => parseAddEthereumChainParameter(bad), 'bad_chain_params', 'params[0]');
  });

  for (const [what, change, field] of cases) {
    it(`refuses ${what}`, () => {
      expectWalletError(() => parseAddEthereumChainParameter(withChange(BASE, change)), 'bad_chain_params', field);
    });
  }
});
