/** Parameter rules (EIP-3085/3326), permissions, account names, the paired-key record and signature checks. */
import { describe, expect, it } from 'vitest';
import { SigningKey, hexlify } from 'ethers';
import { parsePairedKey, parseAccountName, deriveAccountAddress } from '../../src/background/accounts.ts';
import { MAX_SAFE_CHAIN_ID, parseAddChainParams, parseHexChainId, parseSwitchChainParams } from '../../src/background/chain-params.ts';
import { eip2255Permissions, grantAccounts, parsePermissionRequest, permittedAccounts, revokeOrigin } from '../../src/background/permissions.ts';
import { defaultWalletState, type Mutable, type WalletState } from '../../src/background/wallet-state.ts';
import { signatureHex, verifyCoSignature } from '../../src/background/signature-check.ts';
import { RpcErrorCode } from '../../src/provider/rpc-error.ts';
import { signingDigest, type SigningRequest } from '../../src/wallet/signing-request.ts';
import { ANVIL_DEV_KEY, LocalTestCoSigner } from './local-test-co-signer.ts';

const invalid = expect.objectContaining({ code: RpcErrorCode.invalidParams });

describe('chain parameters', () => {
  it('parses hex chain ids strictly', () => {
    expect(parseHexChainId('0x1', 'chainId')).toBe(1);
    expect(parseHexChainId('0xAA36A7', 'chainId')).toBe(11155111);
    expect(parseHexChainId(`0x${MAX_SAFE_CHAIN_ID.toString(16)}`, 'chainId')).toBe(MAX_SAFE_CHAIN_ID);
    for (const bad of ['1', '0x', '0x0', '0x01', 1, null, `0x${(MAX_SAFE_CHAIN_ID + 1).toString(16)}`]) expect(() => parseHexChainId(bad, 'chainId')).toThrow(invalid);
  });

  it('switch takes exactly [{ chainId }]', () => {
    expect(parseSwitchChainParams([{ chainId: '0x1' }])).toBe(1);
    for (const bad of [undefined, [], [{}], [{ chainId: '0x1' }, {}], [{ chainId: '0x1', name: 'x' }], ['0x1']]) expect(() => parseSwitchChainParams(bad)).toThrow(invalid);
  });

  it('add takes the first https RPC and explorer URL', () => {
    expect(parseAddChainParams([{ chainId: '0xa', chainName: ' Optimism ', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: ['https://a.example', 'https://b.example'], blockExplorerUrls: ['https://x.example'], iconUrls: [] }])).toEqual({
      chainId: 10,
      name: 'Optimism',
      symbol: 'ETH',
      rpcUrl: 'https://a.example',
      explorerUrl: 'https://x.example',
    });
    expect(parseAddChainParams([{ chainId: '0x539', chainName: 'Dev', nativeCurrency: { name: 'E', symbol: 'ETH', decimals: 18 }, rpcUrls: ['http://localhost:8545'], blockExplorerUrls: null }])).toMatchObject({ rpcUrl: 'http://localhost:8545' });
    expect(() => parseAddChainParams([{ chainId: '0x539', chainName: 'Dev', nativeCurrency: { name: 'E', symbol: 'ETH', decimals: 18 }, rpcUrls: ['http://10.0.0.1:8545'] }])).toThrow(/rpcUrls\[0\]/);
  });
});

function stateWith(accounts: string[]): Mutable<WalletState> {
  return { ...defaultWalletState(), accounts: accounts.map((address, index) => ({ index, address, name: `A${index}` })), activeAccount: 1 } as Mutable<WalletState>;
}

describe('permissions', () => {
  const a = '0x1111111111111111111111111111111111111111';
  const b = '0x2222222222222222222222222222222222222222';

  it('grants per origin, puts the active account first, and forgets accounts that no longer exist', () => {
    const state = stateWith([a, b]);
    grantAccounts(state, 'https://x.example', [a, b], 5);
    expect(permittedAccounts(state, 'https://x.example')).toEqual([b, a]);
    expect(permittedAccounts(state, 'https://y.example')).toEqual([]);
    expect(eip2255Permissions(state, 'https://x.example')).toEqual([{ invoker: 'https://x.example', parentCapability: 'eth_accounts', date: 5, caveats: [{ type: 'restrictReturnedAccounts', value: [b, a] }] }]);
    state.accounts = state.accounts.filter((account) => account.address !== b);
    expect(permittedAccounts(state, 'https://x.example')).toEqual([a]);
    expect(revokeOrigin(state, 'https://x.example')).toBe(true);
    expect(revokeOrigin(state, 'https://x.example')).toBe(false);
  });

  it('refuses empty or unknown account grants, leaving the state as it was', () => {
    const state = stateWith([a]);
    expect(() => grantAccounts(state, 'https://x.example', [], 1)).toThrow(invalid);
    expect(() => grantAccounts(state, 'https://x.example', [b], 1)).toThrow(invalid);
    expect(state.permissions).toEqual({});
  });

  it('permission requests name eth_accounts only', () => {
    expect(() => parsePermissionRequest('m', [{ eth_accounts: {} }])).not.toThrow();
    for (const bad of [undefined, [], [{}], [{ eth_accounts: {}, other: {} }], [[]], ['eth_accounts']]) expect(() => parsePermissionRequest('m', bad)).toThrow(invalid);
  });
});

describe('accounts', () => {
  it('validates the paired-key record field by field', () => {
    const good = new LocalTestCoSigner().pairedKey;
    expect(parsePairedKey(good)).toEqual(good);
    expect(() => parsePairedKey(null)).toThrow(expect.objectContaining({ field: 'pairedKey' }));
    expect(() => parsePairedKey({ ...good, publicKey: `0x04${good.publicKey.slice(4)}` })).toThrow(expect.objectContaining({ field: 'pairedKey.publicKey' }));
    expect(() => parsePairedKey({ ...good, publicKey: `0x02${'f'.repeat(64)}` })).toThrow(expect.objectContaining({ field: 'pairedKey.publicKey', message: expect.stringMatching(/not a point/) }));
    expect(() => parsePairedKey({ ...good, chainCode: '0x1234' })).toThrow(expect.objectContaining({ field: 'pairedKey.chainCode' }));
    expect(() => deriveAccountAddress(good, -1)).toThrow();
  });

  it('names are 1 to 32 characters', () => {
    expect(parseAccountName(' Main ', 'name')).toBe('Main');
    for (const bad of ['', ' ', 'x'.repeat(33), 5]) expect(() => parseAccountName(bad, 'name')).toThrow(invalid);
  });
});

describe('signature checks', () => {
  const request: SigningRequest = { kind: 'personal_sign', id: '0'.repeat(32), origin: 'https://a.example', chainId: 31337, createdAt: 1, account: { index: 0, address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266' }, message: '0x01' };
  const signed = new SigningKey(ANVIL_DEV_KEY).sign(hexlify(signingDigest(request)));
  const good = { r: BigInt(signed.r), s: BigInt(signed.s), yParity: signed.yParity };
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

  it('accepts a signature that recovers the account and formats it as r‖s‖v', () => {
    expect(() => verifyCoSignature(request, good)).not.toThrow();
    expect(signatureHex(good)).toBe(signed.serialized);
  });

  it('refuses a high-s twin, a wrong recovery bit, out-of-range values and another account', () => {
    const internal = expect.objectContaining({ code: RpcErrorCode.internal });
    expect(() => verifyCoSignature(request, { r: good.r, s: n - good.s, yParity: (1 - good.yParity) as 0 | 1 })).toThrow(internal);
    expect(() => verifyCoSignature(request, { ...good, yParity: (1 - good.yParity) as 0 | 1 })).toThrow(internal);
    expect(() => verifyCoSignature(request, { ...good, r: 0n })).toThrow(internal);
    expect(() => verifyCoSignature(request, { ...good, s: n })).toThrow(internal);
    expect(() => verifyCoSignature({ ...request, account: { index: 0, address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' } }, good)).toThrow(internal);
  });
});
