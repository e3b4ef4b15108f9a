import { describe, expect, it } from 'vitest';
import { hexlify, toUtf8Bytes } from 'ethers';
import {
  APPROVAL_FOR_ALL_WARNING,
  PERMIT_WARNING,
  SELECTOR_ERC20_APPROVE,
  SELECTOR_ERC20_TRANSFER,
  SELECTOR_ERC20_TRANSFER_FROM,
  SELECTOR_SET_APPROVAL_FOR_ALL,
  UNDECODED_CALL_WARNING,
  UNLIMITED_APPROVAL_WARNING,
  displayModel,
  type DisplayModel,
} from '../../src/wallet/decode.ts';
import { decodeSigningRequest, encodeSigningRequest, type SigningRequest } from '../../src/wallet/signing-request.ts';
import { DEV_ADDRESS, MAIL_TYPED_DATA, SPENDER, TOKEN, calldata, personalSignRequest, transactionRequest, typedDataRequest } from './wallet-fixtures.ts';

const MAX_UINT256 = (1n << 256n) - 1n;
const field = (model: DisplayModel, label: string) => model.fields.find((entry) => entry.label === label);
const tokenCall = (data: string, value = 0n) => displayModel(transactionRequest({ to: TOKEN, data, value }));

describe('transactions', () => {
  it('ETH transfer: recipient, amount, fees in ETH (max fee = gas × maxFeePerGas)', () => {
    const model = displayModel(transactionRequest({ value: 15n * 10n ** 17n }));
    expect(model.title).toBe('Send ETH');
    expect(model.warnings).toEqual([]);
    expect(model.fields.map((entry) => [entry.label, entry.value])).toEqual([
      ['Network', 'Local (anvil) (chain 31337)'],
      ['From', DEV_ADDRESS],
      ['To', SPENDER],
      ['Amount', '1.5 ETH'],
      ['Max network fee', '0.00012 ETH'],
      ['Max total', '1.50012 ETH'],
      ['Gas limit', '60000'],
      ['Max fee per gas', '2.0 gwei'],
      ['Priority fee per gas', '1.0 gwei'],
      ['Nonce', '1'],
    ]);
  });

  it('names the native currency only on networks it knows', () => {
    const request = transactionRequest({ value: 10n ** 18n, chainId: 8453 });
    const model = displayModel({ ...request, chainId: 8453 });
    expect(field(model, 'Network')?.value).toBe('Chain 8453');
    expect(field(model, 'Amount')?.value).toBe('1.0 (native currency)');
  });

  it('ERC-20 transfer: token, recipient, raw amount', () => {
    const model = tokenCall(calldata(SELECTOR_ERC20_TRANSFER, BigInt(SPENDER), 1000n));
    expect(model.title).toBe('Send tokens (ERC-20 transfer)');
    expect(field(model, 'Token contract')?.value).toBe(TOKEN);
    expect(field(model, 'Recipient')?.value).toBe(SPENDER);
    expect(field(model, 'Amount')?.value).toBe('1000 (raw units)');
    expect(field(model, 'ETH sent')?.value).toBe('0.0 ETH');
    expect(model.warnings).toEqual([]);
  });

  it('ERC-20 transferFrom: holder, recipient, amount', () => {
    const model = tokenCall(calldata(SELECTOR_ERC20_TRANSFER_FROM, BigInt(DEV_ADDRESS), BigInt(SPENDER), 7n));
    expect(model.title).toBe('Move tokens (ERC-20 transferFrom)');
    expect([field(model, 'From holder')?.value, field(model, 'Recipient')?.value, field(model, 'Amount')?.value]).toEqual([DEV_ADDRESS, SPENDER, '7 (raw units)']);
  });

  it('ERC-20 approve: a limited allowance is not flagged, a zero one removes the allowance', () => {
    const limited = tokenCall(calldata(SELECTOR_ERC20_APPROVE, BigInt(SPENDER), 5n));
    expect(limited.title).toBe('Allow spending of your tokens (ERC-20 approve)');
    expect(field(limited, 'Spender')?.value).toBe(SPENDER);
    expect(field(limited, 'Allowance')).toEqual({ label: 'Allowance', value: '5 (raw units)' });
    expect(limited.warnings).toEqual([]);
    expect(field(tokenCall(calldata(SELECTOR_ERC20_APPROVE, BigInt(SPENDER), 0n)), 'Allowance')?.value).toBe('0 (removes the allowance)');
  });

  it('ERC-20 approve: 2^256 − 1 and anything ≥ 2^255 is an unlimited approval; 2^255 − 1 is not', () => {
    const max = tokenCall(calldata(SELECTOR_ERC20_APPROVE, BigInt(SPENDER), MAX_UINT256));
    expect(max.warnings).toEqual([UNLIMITED_APPROVAL_WARNING]);
    expect(field(max, 'Allowance')).toEqual({ label: 'Allowance', value: 'unlimited (2^256 − 1)', warning: UNLIMITED_APPROVAL_WARNING });
    const half = tokenCall(calldata(SELECTOR_ERC20_APPROVE, BigInt(SPENDER), 1n << 255n));
    expect(half.warnings).toEqual([UNLIMITED_APPROVAL_WARNING]);
    expect(field(half, 'Allowance')?.value).toBe(`${1n << 255n} (raw units, unlimited)`);
    expect(tokenCall(calldata(SELECTOR_ERC20_APPROVE, BigInt(SPENDER), (1n << 255n) - 1n)).warnings).toEqual([]);
  });

  it('setApprovalForAll: granting is flagged, revoking is not', () => {
    const grant = tokenCall(calldata(SELECTOR_SET_APPROVAL_FOR_ALL, BigInt(SPENDER), 1n));
    expect(grant.warnings).toEqual([APPROVAL_FOR_ALL_WARNING]);
    expect(field(grant, 'Operator')?.value).toBe(SPENDER);
    const revoke = tokenCall(calldata(SELECTOR_SET_APPROVAL_FOR_ALL, BigInt(SPENDER), 0n));
    expect(revoke.title).toContain('Remove access');
    expect(revoke.warnings).toEqual([]);
  });

  it('warns when a token call also sends ETH', () => {
    const model = tokenCall(calldata(SELECTOR_ERC20_TRANSFER, BigInt(SPENDER), 1n), 10n ** 18n);
    expect(model.warnings).toEqual(['This call also sends 1.0 ETH to the contract.']);
  });

  it('shows calldata that is not exactly the ABI encoding as an undecoded call', () => {
    const dirtyAddress = calldata(SELECTOR_ERC20_APPROVE, (1n << 200n) | BigInt(SPENDER), MAX_UINT256);
    const trailing = `${calldata(SELECTOR_ERC20_TRANSFER, BigInt(SPENDER), 1n)}00`;
    const short = calldata(SELECTOR_ERC20_TRANSFER, BigInt(SPENDER));
    const badBool = calldata(SELECTOR_SET_APPROVAL_FOR_ALL, BigInt(SPENDER), 2n);
    for (const data of [dirtyAddress, trailing, short, badBool]) {
      const model = tokenCall(data);
      expect(model.title).toBe('Contract call');
      expect(model.warnings).toEqual([UNDECODED_CALL_WARNING]);
      expect(field(model, 'Data')?.value).toBe(data);
    }
  });

  it('shows other calls by selector with the raw data', () => {
    const model = tokenCall('0xdeadbeef00');
    expect(model.title).toBe('Contract call');
    expect(field(model, 'Function selector')?.value).toBe('0xdeadbeef');
    expect(field(model, 'Data')?.value).toBe('0xdeadbeef00');
    expect(field(tokenCall('0x12'), 'Function selector')).toBeUndefined();
  });

  it('shows a contract creation with its code size', () => {
    const model = displayModel(transactionRequest({ to: null, data: '0x600060005500' }));
    expect(model.title).toBe('Deploy a contract');
    expect(field(model, 'Code size')?.value).toBe('6 bytes');
  });
});

describe('personal_sign', () => {
  const message = (text: string) => field(displayModel(personalSignRequest(text)), 'Message')?.value ?? field(displayModel(personalSignRequest(text)), 'Message (hex)')?.value;

  it('shows printable UTF-8 as text, line breaks and emoji included', () => {
    const text = 'Sign in to Example\nNonce: 42 👋';
    expect(displayModel(personalSignRequest(hexlify(toUtf8Bytes(text)))).fields[2]).toEqual({ label: 'Message', value: text });
  });

  it('shows invalid UTF-8 and the empty message as hex', () => {
    for (const hex of ['0xc328', '0xff', '0x']) {
      expect(displayModel(personalSignRequest(hex)).fields[2]).toEqual({ label: 'Message (hex)', value: hex });
    }
    expect(message('0x68656c6c6f')).toBe('hello');
  });

  it('escapes control, zero-width and direction characters in text (\\u{…}), keeps line breaks, and warns', () => {
    const model = displayModel(personalSignRequest(hexlify(toUtf8Bytes('ok\u0007\npay \u202Eevil\u200b\ufeff\u0000'))));
    expect(model.fields[2]).toEqual({ label: 'Message', value: 'ok\\u{7}\npay \\u{202e}evil\\u{200b}\\u{feff}\\u{0}' });
    expect(model.warnings).toEqual(['The message contains invisible or control characters, shown here as \\u{…} escapes.']);
  });
});

describe('typed data', () => {
  it('shows the domain and the message tree with types', () => {
    const model = displayModel(typedDataRequest(MAIL_TYPED_DATA));
    expect(model.title).toBe('Sign typed data (Mail)');
    expect(model.warnings).toEqual([]);
    expect(model.fields.slice(2)).toEqual([
      { label: 'domain.name', value: 'Ether Mail', type: 'string' },
      { label: 'domain.version', value: '1', type: 'string' },
      { label: 'domain.chainId', value: '1', type: 'uint256' },
      { label: 'domain.verifyingContract', value: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC', type: 'address' },
      { label: 'Mail.from', value: '(2 fields)', type: 'Person' },
      { label: 'Mail.from.name', value: 'Cow', type: 'string' },
      { label: 'Mail.from.wallet', value: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826', type: 'address' },
      { label: 'Mail.to', value: '(2 fields)', type: 'Person' },
      { label: 'Mail.to.name', value: 'Bob', type: 'string' },
      { label: 'Mail.to.wallet', value: '0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB', type: 'address' },
      { label: 'Mail.contents', value: 'Hello, Bob!', type: 'string' },
    ]);
  });

  it('shows arrays with their item count and each item', () => {
    const typed = {
      types: { EIP712Domain: [{ name: 'name', type: 'string' }], Group: [{ name: 'members', type: 'address[]' }, { name: 'empty', type: 'uint8[]' }] },
      primaryType: 'Group',
      domain: { name: 'Groups' },
      message: { members: [DEV_ADDRESS, SPENDER], empty: [] },
    };
    const model = displayModel(typedDataRequest(typed));
    expect(model.fields.slice(3).map((entry) => [entry.label, entry.value])).toEqual([
      ['Group.members', '(2 items)'],
      ['Group.members[0]', DEV_ADDRESS],
      ['Group.members[1]', SPENDER],
      ['Group.empty', '(0 items)'],
    ]);
  });

  it('does not let a primary type called "domain" pass its fields off as domain fields', () => {
    const typed = { types: { EIP712Domain: [{ name: 'name', type: 'string' }], domain: [{ name: 'name', type: 'string' }] }, primaryType: 'domain', domain: { name: 'Real' }, message: { name: 'Fake' } };
    const labels = displayModel(typedDataRequest(typed)).fields.map((entry) => entry.label);
    expect(labels).toEqual(['Valid on', 'Account', 'domain.name', 'message.name']);
  });

  const DOMAIN_TYPE = [
    { name: 'name', type: 'string' },
    { name: 'version', type: 'string' },
    { name: 'chainId', type: 'uint256' },
    { name: 'verifyingContract', type: 'address' },
  ];
  const permit = (value: bigint) => ({
    types: {
      EIP712Domain: DOMAIN_TYPE,
      Permit: [
        { name: 'owner', type: 'address' },
        { name: 'spender', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Permit',
    domain: { name: 'Token', version: '1', chainId: 1, verifyingContract: TOKEN },
    message: { owner: DEV_ADDRESS, spender: SPENDER, value: value.toString(), nonce: 0, deadline: 1_900_000_000 },
  });

  it('EIP-2612 permit: always a permit warning; unlimited at ≥ 2^255', () => {
    expect(displayModel(typedDataRequest(permit(100n))).warnings).toEqual([PERMIT_WARNING]);
    const unlimited = displayModel(typedDataRequest(permit(MAX_UINT256)));
    expect(unlimited.warnings).toEqual([PERMIT_WARNING, UNLIMITED_APPROVAL_WARNING]);
    expect(field(unlimited, 'Permit.value')?.warning).toBe(UNLIMITED_APPROVAL_WARNING);
    expect(displayModel(typedDataRequest(permit(1n << 255n))).warnings).toContain(UNLIMITED_APPROVAL_WARNING);
  });

  it('DAI-style permit with allowed = true is unlimited', () => {
    const dai = {
      types: { EIP712Domain: DOMAIN_TYPE, Permit: [{ name: 'holder', type: 'address' }, { name: 'spender', type: 'address' }, { name: 'nonce', type: 'uint256' }, { name: 'expiry', type: 'uint256' }, { name: 'allowed', type: 'bool' }] },
      primaryType: 'Permit',
      domain: { name: 'Dai Stablecoin', version: '1', chainId: 1, verifyingContract: TOKEN },
      message: { holder: DEV_ADDRESS, spender: SPENDER, nonce: 0, expiry: 0, allowed: true },
    };
    expect(displayModel(typedDataRequest(dai)).warnings).toEqual([PERMIT_WARNING, UNLIMITED_APPROVAL_WARNING]);
  });

  it('Permit2 PermitSingle: unlimited at ≥ 2^159 of its uint160 amount', () => {
    const permit2 = (amount: bigint) => ({
      types: {
        EIP712Domain: DOMAIN_TYPE.filter((entry) => entry.name !== 'version'),
        PermitDetails: [{ name: 'token', type: 'address' }, { name: 'amount', type: 'uint160' }, { name: 'expiration', type: 'uint48' }, { name: 'nonce', type: 'uint48' }],
        PermitSingle: [{ name: 'details', type: 'PermitDetails' }, { name: 'spender', type: 'address' }, { name: 'sigDeadline', type: 'uint256' }],
      },
      primaryType: 'PermitSingle',
      domain: { name: 'Permit2', chainId: 1, verifyingContract: '0x000000000022D473030F116dDEE9F6B43aC78BA3' },
      message: { details: { token: TOKEN, amount: amount.toString(), expiration: 0, nonce: 0 }, spender: SPENDER, sigDeadline: 0 },
    });
    expect(displayModel(typedDataRequest(permit2((1n << 160n) - 1n))).warnings).toEqual([PERMIT_WARNING, UNLIMITED_APPROVAL_WARNING]);
    expect(displayModel(typedDataRequest(permit2(1000n))).warnings).toEqual([PERMIT_WARNING]);
  });
});

describe('both devices', () => {
  it('render the same model from the request each one holds, with unique labels', () => {
    const requests: SigningRequest[] = [
      transactionRequest({ value: 1n }),
      transactionRequest({ to: TOKEN, data: calldata(SELECTOR_ERC20_APPROVE, BigInt(SPENDER), MAX_UINT256) }),
      personalSignRequest('0x68656c6c6f'),
      typedDataRequest(MAIL_TYPED_DATA),
    ];
    for (const request of requests) {
      const onPhone = decodeSigningRequest(JSON.parse(JSON.stringify(encodeSigningRequest(request))));
      const model = displayModel(request);
      expect(displayModel(onPhone)).toEqual(model);
      expect(new Set(model.fields.map((entry) => entry.label)).size).toBe(model.fields.length);
    }
  });
});
