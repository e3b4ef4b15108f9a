/**
 * wallet_watchAsset's parameters and checks without a wallet around them: the shapes MetaMask
 * takes, and a token whose contract reports no symbol (the site's, said so on the card).
 */
import { describe, expect, it } from 'vitest';
import { AbiCoder } from 'ethers';
import { listedToken } from '../../src/background/token-list.ts';
import { checkWatchAsset, parseWatchAssetParams, watchAssetModel } from '../../src/background/watch-asset.ts';

const TOKEN = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const HOLDER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const abi = AbiCoder.defaultAbiCoder();

/** A node where TOKEN is an ERC-20 with 8 decimals and no symbol(). */
const noSymbolToken = async (method: string, params: readonly unknown[]) => {
  if (method === 'eth_getCode') return '0x6001';
  const data = (params[0] as { data: string }).data;
  if (data.startsWith('0x01ffc9a7')) return abi.encode(['bool'], [false]);
  if (data === '0x313ce567') return abi.encode(['uint8'], [8]);
  throw new Error('execution reverted');
};

describe('wallet_watchAsset', () => {
  it('takes { type, options } or [{ type, options }], and refuses what MetaMask refuses', () => {
    expect(parseWatchAssetParams({ type: 'ERC20', options: { address: TOKEN, symbol: 'WBTC', decimals: 8 } })).toMatchObject({ standard: 'erc20', symbol: 'WBTC', decimals: 8 });
    expect(parseWatchAssetParams([{ type: 'erc721', options: { address: TOKEN, tokenId: '7' } }])).toMatchObject({ standard: 'erc721', tokenId: 7n });
    const refused: [unknown, RegExp][] = [
      [{ type: 'ERC20', options: { address: TOKEN, decimals: 37 } }, /decimals/],
      [{ type: 'ERC20', options: { address: TOKEN, symbol: 'TWELVECHARSX' } }, /symbol/],
      [{ type: 'ERC20', options: { address: 'nope' } }, /options\.address/],
      [{ type: 'ERC721', options: { address: TOKEN } }, /tokenId/],
      [{ type: 'ERC721', options: { address: TOKEN, tokenId: '-1' } }, /tokenId/],
      [{ type: 'ERC20', options: { address: TOKEN, colour: 'red' } }, /Unexpected option colour/],
      [{ type: 'ERC20', options: { address: TOKEN }, extra: 1 }, /Unexpected parameter extra/],
    ];
    for (const [params, message] of refused) expect(() => parseWatchAssetParams(params)).toThrow(message);
  });

  it('a token whose contract has no symbol takes the site one, and the card says whose it is', async () => {
    const asset = await checkWatchAsset(parseWatchAssetParams({ type: 'ERC20', options: { address: TOKEN, symbol: 'WBTC', decimals: 8 } }), noSymbolToken, 31337, HOLDER);
    expect(asset).toMatchObject({ token: { symbol: 'WBTC', decimals: 8 }, siteSymbol: 'WBTC' });
    expect(watchAssetModel(asset, 'Local (anvil)').warnings).toEqual([expect.stringMatching(/^The token's contract reports no symbol: WBTC is what the site calls it/)]);
  });
});

describe('the token list', () => {
  it("keeps only an ERC-20 it can show: a symbol of 1 to 11 visible characters, 0 to 36 decimals (MetaMask's bounds)", () => {
    expect(listedToken(TOKEN.toLowerCase(), 'WBTC', 8n, 'address')).toEqual({ address: TOKEN, symbol: 'WBTC', decimals: 8 });
    const refused: [string | null, bigint | null][] = [
      [null, 8n],
      ['ABCDEFGHIJKL', 8n],
      ['US\u200bDC', 8n],
      ['WBTC', 37n],
      ['WBTC', null],
    ];
    for (const [symbol, decimals] of refused) expect(() => listedToken(TOKEN, symbol, decimals, 'options.address')).toThrow(expect.objectContaining({ code: 'invalid_input', field: 'options.address' }));
  });

  it('a site symbol with hidden characters is refused, not listed', async () => {
    await expect(checkWatchAsset(parseWatchAssetParams({ type: 'ERC20', options: { address: TOKEN, symbol: 'WB\u200bTC' } }), noSymbolToken, 31337, HOLDER)).rejects.toMatchObject({ code: -32602, message: /^options\.address: The token's symbol/ });
  });
});
