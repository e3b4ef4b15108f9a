/**
 * The display of issue 17: NFTs as NFTs, ERC-20 amounts in token units, legacy transaction types,
 * Permit2 signature transfers, NFT permits, Sign-In with Ethereum, hidden characters, embedded
 * frames and signatures valid on every chain — the same model on both devices.
 */
import { describe, expect, it } from 'vitest';
import { AbiCoder, hexlify, toUtf8Bytes } from 'ethers';
import {
  EVERY_CHAIN,
  LEGACY_TYPED_DATA_WARNING,
  NFT_APPROVAL_WARNING,
  NFT_PERMIT_WARNING,
  PERMIT_WARNING,
  SELECTOR_ERC20_APPROVE,
  SELECTOR_ERC20_TRANSFER,
  SELECTOR_ERC20_TRANSFER_FROM,
  SIWE_MALFORMED_WARNING,
  UNLIMITED_APPROVAL_WARNING,
  displayModel,
  type DisplayModel,
} from '../../src/wallet/decode.ts';
import { decodeSigningRequest, encodeSigningRequest, type SigningRequest, type TokenInfo, type TransactionRequest } from '../../src/wallet/signing-request.ts';
import { NFT_PERMIT_WRONG_CHECKSUM, PERMIT2_BATCH_WITH_VERSION } from './metamask-payloads.ts';
import { DEV_ADDRESS, MAIL_TYPED_DATA, SPENDER, TOKEN, calldata, legacyTypedDataRequest, personalSignRequest, transactionRequest, typedDataRequest, withChange } from './wallet-fixtures.ts';

const MAX_UINT256 = (1n << 256n) - 1n;
const PERMIT2 = '0x000000000022D473030F116dDEE9F6B43aC78BA3';
const USDC: TokenInfo = { address: TOKEN, standard: 'erc20', symbol: 'USDC', decimals: 6 };
const PUNKS: TokenInfo = { address: TOKEN, standard: 'erc721', symbol: 'PUNK', decimals: null };
const field = (model: DisplayModel, label: string) => model.fields.find((entry) => entry.label === label)?.value;
const abi = AbiCoder.defaultAbiCoder();
const call = (signature: string, types: string[], values: unknown[]) => `0x${signature}${abi.encode(types, values).slice(2)}`;
const tokenTx = (data: string, tokens: TokenInfo[] = []): TransactionRequest => ({ ...transactionRequest({ to: TOKEN, data }), tokens });

describe('ERC-20 in token units', () => {
  it('shows the amount with the symbol and decimals read from the chain, and the raw units beside', () => {
    const model = displayModel(tokenTx(calldata(SELECTOR_ERC20_TRANSFER, BigInt(SPENDER), 1_500_000n), [USDC]));
    expect(model.title).toBe('Send tokens (ERC-20 transfer)');
    expect(field(model, 'Token contract')).toBe(`${TOKEN} (USDC)`);
    expect(field(model, 'Amount')).toBe('1.5 USDC');
    expect(field(model, 'Amount (raw units)')).toBe('1500000');
    expect(field(model, 'Token details')).toMatch(/as the token's contract reported them/);
  });

  it('falls back to raw units, saying why, when the token could not be read', () => {
    const model = displayModel(tokenTx(calldata(SELECTOR_ERC20_TRANSFER, BigInt(SPENDER), 1_500_000n)));
    expect(field(model, 'Amount')).toBe('1500000 (raw units)');
    expect(field(model, 'Amount (raw units)')).toBeUndefined();
    expect(field(model, 'Token details')).toMatch(/could not read this token/);
  });

  it('an unlimited approval in token units is still flagged', () => {
    const model = displayModel(tokenTx(calldata(SELECTOR_ERC20_APPROVE, BigInt(SPENDER), MAX_UINT256), [USDC]));
    expect(field(model, 'Allowance')).toBe('unlimited USDC');
    expect(field(model, 'Allowance (raw units)')).toBe('2^256 − 1');
    expect(model.warnings).toEqual([UNLIMITED_APPROVAL_WARNING]);
  });
});

describe('NFTs', () => {
  it('ERC-721 approve (the ERC-20 selector, told apart by the token details): the token ID, not an amount', () => {
    const model = displayModel(tokenTx(calldata(SELECTOR_ERC20_APPROVE, BigInt(SPENDER), 42n), [PUNKS]));
    expect(model.title).toBe('Allow an address to take one NFT (ERC-721 approve)');
    expect([field(model, 'Collection'), field(model, 'Approved address'), field(model, 'Token ID')]).toEqual([`${TOKEN} (PUNK)`, SPENDER, '42']);
    expect(field(model, 'Allowance')).toBeUndefined();
    expect(model.warnings).toEqual([NFT_APPROVAL_WARNING]);
  });

  it('ERC-721 transferFrom and both safeTransferFrom forms', () => {
    const transferFrom = displayModel(tokenTx(calldata(SELECTOR_ERC20_TRANSFER_FROM, BigInt(DEV_ADDRESS), BigInt(SPENDER), 7n), [PUNKS]));
    expect(transferFrom.title).toBe('Send an NFT (ERC-721 transferFrom)');
    expect(field(transferFrom, 'Token ID')).toBe('7');
    const safe = displayModel(tokenTx(call('42842e0e', ['address', 'address', 'uint256'], [DEV_ADDRESS, SPENDER, 8n])));
    expect([safe.title, field(safe, 'Token ID'), field(safe, 'Recipient')]).toEqual(['Send an NFT (ERC-721 safeTransferFrom)', '8', SPENDER]);
    const withData = displayModel(tokenTx(call('b88d4fde', ['address', 'address', 'uint256', 'bytes'], [DEV_ADDRESS, SPENDER, 9n, '0xc0ffee'])));
    expect([withData.title, field(withData, 'Token ID'), field(withData, 'Data for the recipient')]).toEqual(['Send an NFT (ERC-721 safeTransferFrom)', '9', '0xc0ffee']);
  });

  it('ERC-1155 single and batch transfers', () => {
    const single = displayModel(tokenTx(call('f242432a', ['address', 'address', 'uint256', 'uint256', 'bytes'], [DEV_ADDRESS, SPENDER, 5n, 3n, '0x'])));
    expect([single.title, field(single, 'Token ID'), field(single, 'Amount')]).toEqual(['Send NFTs (ERC-1155 safeTransferFrom)', '5', '3']);
    const batch = displayModel(tokenTx(call('2eb2c2d6', ['address', 'address', 'uint256[]', 'uint256[]', 'bytes'], [DEV_ADDRESS, SPENDER, [1n, 2n], [10n, 20n], '0x'])));
    expect(batch.title).toBe('Send NFTs (ERC-1155 safeBatchTransferFrom)');
    expect(field(batch, 'Items')).toBe('token ID 1 × 10\ntoken ID 2 × 20');
  });

  it('non-canonical encodings (a moved dynamic part, dirty padding, unequal batch lengths) stay undecoded', () => {
    const canonical = call('b88d4fde', ['address', 'address', 'uint256', 'bytes'], [DEV_ADDRESS, SPENDER, 9n, '0xc0ffee']);
    const movedOffset = canonical.slice(0, 10 + 64 * 3) + (0xa0).toString(16).padStart(64, '0') + '0'.repeat(64) + canonical.slice(10 + 64 * 4);
    const dirtyPadding = `${canonical.slice(0, -2)}01`;
    const unequal = call('2eb2c2d6', ['address', 'address', 'uint256[]', 'uint256[]', 'bytes'], [DEV_ADDRESS, SPENDER, [1n, 2n], [10n], '0x']);
    for (const data of [movedOffset, dirtyPadding, unequal]) expect(displayModel(tokenTx(data)).title).toBe('Contract call');
  });
});

describe('legacy transaction types', () => {
  it('show their type and gas price; the max fee is gas × gas price', () => {
    const base = transactionRequest();
    const legacy: TransactionRequest = { ...base, tx: { to: SPENDER, value: 0n, data: '0x', nonce: 1, gas: 21_000n, chainId: 31337, type: 0, gasPrice: 3_000_000_000n } };
    const model = displayModel(legacy);
    expect([field(model, 'Transaction type'), field(model, 'Gas price'), field(model, 'Max network fee'), field(model, 'Max fee per gas')]).toEqual(['legacy (type 0, EIP-155)', '3.0 gwei', '0.000063 ETH', undefined]);
    const accessList: TransactionRequest = { ...base, tx: { ...legacy.tx, type: 1, gasPrice: 3_000_000_000n, accessList: [{ address: TOKEN, storageKeys: [`0x${'00'.repeat(32)}`] }] } };
    expect(field(displayModel(accessList), 'Access list')).toBe(`${TOKEN}: 1 storage key`);
  });
});

const permitTransfer = (amount: bigint, witness = false) => ({
  types: {
    EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'chainId', type: 'uint256' }, { name: 'verifyingContract', type: 'address' }],
    TokenPermissions: [{ name: 'token', type: 'address' }, { name: 'amount', type: 'uint256' }],
    ...(witness
      ? {
          ExclusiveDutchOrder: [{ name: 'info', type: 'string' }],
          PermitWitnessTransferFrom: [{ name: 'permitted', type: 'TokenPermissions' }, { name: 'spender', type: 'address' }, { name: 'nonce', type: 'uint256' }, { name: 'deadline', type: 'uint256' }, { name: 'witness', type: 'ExclusiveDutchOrder' }],
        }
      : { PermitTransferFrom: [{ name: 'permitted', type: 'TokenPermissions' }, { name: 'spender', type: 'address' }, { name: 'nonce', type: 'uint256' }, { name: 'deadline', type: 'uint256' }] }),
  },
  primaryType: witness ? 'PermitWitnessTransferFrom' : 'PermitTransferFrom',
  domain: { name: 'Permit2', chainId: 1, verifyingContract: PERMIT2 },
  message: { permitted: { token: TOKEN, amount: amount.toString() }, spender: SPENDER, nonce: '1', deadline: '1735689600', ...(witness ? { witness: { info: 'order' } } : {}) },
});

describe('Permit2 and permits', () => {
  it('PermitTransferFrom with the max amount: recognised, spender / amount / deadline, and the unlimited warning', () => {
    const model = displayModel({ ...typedDataRequest(permitTransfer(MAX_UINT256)), tokens: [USDC] });
    expect(model.title).toBe('Permit2: let a spender transfer your tokens once (PermitTransferFrom)');
    expect([field(model, 'Spender'), field(model, 'Token'), field(model, 'Amount (at most)'), field(model, 'Signature valid until')]).toEqual([SPENDER, `${TOKEN} (USDC)`, 'unlimited USDC', '2025-01-01T00:00:00Z (1735689600)']);
    expect(model.warnings).toEqual([PERMIT_WARNING, UNLIMITED_APPROVAL_WARNING]);
    const limited = displayModel({ ...typedDataRequest(permitTransfer(2_500_000n)), tokens: [USDC] });
    expect(field(limited, 'Amount (at most)')).toBe('2.5 USDC');
    expect(limited.warnings).toEqual([PERMIT_WARNING]);
  });

  it('the witness variant names its witness type', () => {
    const model = displayModel(typedDataRequest(permitTransfer(MAX_UINT256, true)));
    expect(model.title).toBe('Permit2: let a spender transfer your tokens once (PermitWitnessTransferFrom)');
    expect(field(model, 'Witness')).toBe('ExclusiveDutchOrder (its fields are below)');
    expect(model.warnings).toContain(UNLIMITED_APPROVAL_WARNING);
  });

  it('the same types at another verifying contract are not summarised as Permit2', () => {
    const model = displayModel(typedDataRequest(withChange(permitTransfer(1n), (t) => (t.domain.verifyingContract = TOKEN))));
    expect(model.title).toBe('Sign typed data (PermitTransferFrom)');
  });

  it('the real Permit2 PermitBatch: summarised, and the undeclared domain version shown as a warning', () => {
    const model = displayModel(typedDataRequest(PERMIT2_BATCH_WITH_VERSION));
    expect(model.title).toBe('Permit2: allow a spender to use your tokens (PermitBatch)');
    expect(model.warnings).toEqual([PERMIT_WARNING, UNLIMITED_APPROVAL_WARNING, expect.stringMatching(/^domain\.version \("1"\) is not declared/)]);
    expect(field(model, 'domain.version')).toBeUndefined();
  });

  it('the real ERC-721 permit with a wrong checksum: an NFT permit, with the checksum warning', () => {
    const model = displayModel(typedDataRequest(NFT_PERMIT_WRONG_CHECKSUM));
    expect(model.title).toBe('NFT permit: allow a spender to take one NFT (EIP-4494)');
    expect(field(model, 'Token ID')).toBe('42');
    expect(model.warnings).toEqual([NFT_PERMIT_WARNING, expect.stringMatching(/wrong EIP-55 checksum/)]);
  });
});

const siwe = (domain: string, address = DEV_ADDRESS) =>
  hexlify(
    toUtf8Bytes(
      `${domain} wants you to sign in with your Ethereum account:\n${address}\n\nSign in to the example app.\n\nURI: https://${domain}/login\nVersion: 1\nChain ID: 1\nNonce: 32891756\nIssued At: 2021-09-30T16:25:24Z\nResources:\n- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/`,
    ),
  );

describe('Sign-In with Ethereum', () => {
  it('is parsed for display; its domain matches the requesting site: no alert', () => {
    const model = displayModel({ ...personalSignRequest(siwe('localhost:3000')), origin: 'http://localhost:3000' });
    expect(model.title).toBe('Sign in with Ethereum');
    expect([field(model, 'Sign in to'), field(model, 'Sign-in account'), field(model, 'Statement'), field(model, 'Nonce'), field(model, 'Resources')]).toEqual([
      'localhost:3000',
      DEV_ADDRESS,
      'Sign in to the example app.',
      '32891756',
      'ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/',
    ]);
    expect(field(model, 'Message')).toContain('\nURI: https://localhost:3000/login\n');
    expect(model.alerts).toBeUndefined();
    expect(model.warnings).toEqual([]);
  });

  it('a domain other than the requesting site is an alert', () => {
    const model = displayModel({ ...personalSignRequest(siwe('app.uniswap.org')), origin: 'https://uniswap-claim.example' });
    expect(model.alerts).toEqual([expect.stringMatching(/^This sign-in is for app\.uniswap\.org, but the request comes from https:\/\/uniswap-claim\.example/)]);
    for (const [domain, origin] of [['localhost:3001', 'http://localhost:3000'], ['https://localhost:3000', 'http://localhost:3000'], ['user@localhost:3000', 'http://localhost:3000']] as const) {
      expect(displayModel({ ...personalSignRequest(siwe(domain)), origin }).alerts).toHaveLength(1);
    }
  });

  it('another account, or a body that does not follow EIP-4361, is a warning; the domain is still checked', () => {
    expect(displayModel({ ...personalSignRequest(siwe('localhost:3000', SPENDER)), origin: 'http://localhost:3000' }).warnings).toEqual([expect.stringMatching(new RegExp(`signs in as ${SPENDER}`))]);
    const malformed = displayModel({ ...personalSignRequest(hexlify(toUtf8Bytes('evil.example wants you to sign in with your Ethereum account:\nnot an address'))), origin: 'http://localhost:3000' });
    expect(malformed.warnings).toEqual([SIWE_MALFORMED_WARNING]);
    expect(malformed.alerts).toHaveLength(1);
  });
});

describe('where a request comes from and where it is valid', () => {
  it('a request from an embedded frame says which site embeds it', () => {
    const model = displayModel({ ...personalSignRequest('0x68656c6c6f'), embeddedIn: 'https://top.example' });
    expect(field(model, 'Embedded in')).toBe('https://top.example');
    expect(model.warnings).toEqual(['This request comes from http://localhost:3000, a frame embedded in https://top.example.']);
  });

  it('personal_sign, legacy typed data and typed data without a signed chainId are valid on every chain', () => {
    expect(field(displayModel(personalSignRequest('0x68656c6c6f')), 'Valid on')).toBe(EVERY_CHAIN);
    const chainless = withChange(MAIL_TYPED_DATA, (t) => (delete t.domain.chainId, t.types.EIP712Domain.splice(2, 1)));
    expect(field(displayModel(typedDataRequest(chainless, 31337)), 'Valid on')).toBe(EVERY_CHAIN);
    expect(field(displayModel(typedDataRequest(MAIL_TYPED_DATA)), 'Valid on')).toBeUndefined();
    const legacy = displayModel(legacyTypedDataRequest([{ type: 'string', name: 'Message', value: 'Hi' }]));
    expect([field(legacy, 'Valid on'), field(legacy, '1. Message'), legacy.warnings[0]]).toEqual([EVERY_CHAIN, 'Hi', LEGACY_TYPED_DATA_WARNING]);
  });

  it('typed data v3 says so in its title', () => {
    expect(displayModel({ ...typedDataRequest(MAIL_TYPED_DATA), typedDataVersion: 'v3' }).title).toBe('Sign typed data v3 (Mail)');
  });
});

describe('both devices', () => {
  it('render the same model for every new kind, from the request each one holds', () => {
    const requests: SigningRequest[] = [
      tokenTx(calldata(SELECTOR_ERC20_APPROVE, BigInt(SPENDER), 42n), [PUNKS]),
      { ...typedDataRequest(permitTransfer(MAX_UINT256)), tokens: [USDC] },
      typedDataRequest(PERMIT2_BATCH_WITH_VERSION),
      typedDataRequest(NFT_PERMIT_WRONG_CHECKSUM),
      { ...personalSignRequest(siwe('app.uniswap.org')), embeddedIn: 'https://top.example' },
      legacyTypedDataRequest([{ type: 'string', name: 'Message', value: 'Hi' }]),
    ];
    for (const request of requests) {
      const onPhone = decodeSigningRequest(JSON.parse(JSON.stringify(encodeSigningRequest(request))));
      const model = displayModel(request);
      expect(displayModel(onPhone)).toEqual(model);
      expect(new Set(model.fields.map((entry) => entry.label)).size).toBe(model.fields.length);
    }
  });
});
