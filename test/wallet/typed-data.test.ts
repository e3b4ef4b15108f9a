import { describe, expect, it } from 'vitest';
import { hexlify } from 'ethers';
import { hashTypedData } from 'viem';
import { checkTypedData, parseTypedDataParam, typedDataDigest } from '../../src/wallet/typed-data.ts';
import { MAIL_DIGEST, MAIL_TYPED_DATA, ORDER_TYPED_DATA, expectWalletError, withChange } from './wallet-fixtures.ts';

const digestOf = (value: unknown, chainId = 1) => hexlify(typedDataDigest(checkTypedData(value, chainId)));

describe('EIP-712 digest', () => {
  it('matches the specification example (Mail)', () => {
    expect(digestOf(MAIL_TYPED_DATA)).toBe(MAIL_DIGEST);
  });

  it('ignores types not reachable from primaryType, as eth-sig-util does', () => {
    expect(digestOf(withChange(MAIL_TYPED_DATA, (t) => (t.types.Unused = [{ name: 'x', type: 'uint256' }])))).toBe(MAIL_DIGEST);
  });

  it('agrees with viem on arrays, nested arrays, bytes, signed integers and a salt', () => {
    const expected = hashTypedData({
      domain: { name: 'Exchange', chainId: 31337, salt: `0x${'ab'.repeat(32)}` },
      types: { Leg: ORDER_TYPED_DATA.types.Leg, Order: ORDER_TYPED_DATA.types.Order },
      primaryType: 'Order',
      message: {
        legs: [
          { asset: '0x5FbDB2315678afecb367f032d93F642f64180aa3', delta: -1000n, memo: '0x' },
          { asset: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', delta: 1000n, memo: '0xc0ffee' },
        ],
        pair: [1, 2],
        grid: [[1, 2, 3], [], [65535]],
        tag: '0xdeadbeef',
        partial: false,
        expiry: 2n ** 64n - 1n,
      },
    });
    expect(digestOf(ORDER_TYPED_DATA, 31337)).toBe(expected);
  });
});

describe('EIP-712 display tree', () => {
  it('gives every value with its type, formatted', () => {
    const checked = checkTypedData(ORDER_TYPED_DATA, 31337);
    expect(checked.domain.fields.map((field) => field.value)).toMatchObject([
      { kind: 'atomic', type: 'string', value: 'Exchange' },
      { kind: 'atomic', type: 'uint256', value: '31337' },
      { kind: 'atomic', type: 'bytes32', value: `0x${'ab'.repeat(32)}` },
    ]);
    const legs = checked.message.fields[0]?.value;
    expect(legs).toMatchObject({ kind: 'array', type: 'Leg[]', items: [{ kind: 'struct', type: 'Leg' }, { kind: 'struct', type: 'Leg' }] });
    const expiry = checked.message.fields.find((field) => field.name === 'expiry')?.value;
    expect(expiry).toMatchObject({ kind: 'atomic', type: 'uint64', value: '18446744073709551615' });
  });

  it('escapes characters that could disguise a string (format and control characters), keeps line breaks, and says so', () => {
    const checked = checkTypedData(withChange(MAIL_TYPED_DATA, (t) => (t.message.contents = 'pay\u202Eevil\u0007\u200b\nnext')), 1);
    expect(checked.message.fields[2]?.value).toMatchObject({ kind: 'atomic', type: 'string', value: 'pay\\u{202e}evil\\u{7}\\u{200b}\nnext' });
    expect(checked.notices).toEqual(['message.contents contains invisible or control characters, shown here as \\u{…} escapes.']);
  });
});

describe('EIP-712 validation', () => {
  const cases: [string, (t: Record<string, any>) => void, string, string][] = [
    ['an unexpected top-level key', (t) => (t.extra = 1), 'bad_typed_data', 'typedData.extra'],
    ['types that are not an object', (t) => (t.types = []), 'bad_typed_data', 'typedData.types'],
    ['a missing primaryType', (t) => delete t.primaryType, 'bad_typed_data', 'typedData.primaryType'],
    ['a primaryType not in types', (t) => (t.primaryType = 'Letter'), 'bad_typed_data', 'typedData.primaryType'],
    ['EIP712Domain as primaryType', (t) => (t.primaryType = 'EIP712Domain'), 'bad_typed_data', 'typedData.primaryType'],
    ['a missing domain', (t) => delete t.domain, 'bad_typed_data', 'typedData.domain'],
    ['a missing message', (t) => delete t.message, 'bad_typed_data', 'typedData.message'],
    ['an invalid type name', (t) => (t.types['Bad Name'] = []), 'bad_typed_data', 'typedData.types.Bad Name'],
    ['a struct named like an atomic type', (t) => (t.types.uint256 = []), 'bad_typed_data', 'typedData.types.uint256'],
    ['a field that is not { name, type }', (t) => (t.types.Person[1] = { name: 'wallet' }), 'bad_typed_data', 'typedData.types.Person[1]'],
    ['a duplicate field name', (t) => (t.types.Person[1].name = 'name'), 'bad_typed_data', 'typedData.types.Person[1].name'],
    ['an unknown field type', (t) => (t.types.Person[1].type = 'Wallet'), 'bad_typed_data', 'typedData.types.Person[1].type'],
    ['a non-EIP-712 integer width', (t) => (t.types.Person[1].type = 'uint7'), 'bad_typed_data', 'typedData.types.Person[1].type'],
    ['the uint alias', (t) => (t.types.Person[1].type = 'uint'), 'bad_typed_data', 'typedData.types.Person[1].type'],
    ['bytes33', (t) => (t.types.Person[1].type = 'bytes33'), 'bad_typed_data', 'typedData.types.Person[1].type'],
    ['a circular type reference', (t) => t.types.Person.push({ name: 'friend', type: 'Mail' }), 'bad_typed_data', 'typedData.types.Mail'],
    ['EIP712Domain used as a field type', (t) => (t.types.Person[1].type = 'EIP712Domain'), 'bad_typed_data', 'typedData.types.Person[1].type'],
    ['an unknown domain field declared', (t) => (t.domain.owner = 'me', t.types.EIP712Domain.push({ name: 'owner', type: 'string' })), 'bad_typed_data', 'typedData.types.EIP712Domain[4]'],
    ['a domain chainId that is not an integer', (t) => (t.domain.chainId = 'one'), 'bad_typed_data', 'typedData.domain.chainId'],
    ['a domain chainId for another chain', (t) => (t.domain.chainId = 5), 'chain_mismatch', 'typedData.domain.chainId'],
    ['a domain chainId for another chain, in hex', (t) => (t.domain.chainId = '0x5'), 'chain_mismatch', 'typedData.domain.chainId'],
    ['a bad verifyingContract', (t) => (t.domain.verifyingContract = '0x1234'), 'bad_typed_data', 'typedData.domain.verifyingContract'],
    ['a missing struct field', (t) => delete t.message.from.wallet, 'bad_typed_data', 'typedData.message.from.wallet'],
    ['a null struct field', (t) => (t.message.contents = null), 'bad_typed_data', 'typedData.message.contents'],
    ['a struct given as a string', (t) => (t.message.to = 'Bob'), 'bad_typed_data', 'typedData.message.to'],
    ['a string given as a number', (t) => (t.message.contents = 5), 'bad_typed_data', 'typedData.message.contents'],
  ];
  for (const [what, change, code, field] of cases) {
    it(`refuses ${what}`, () => {
      expectWalletError(() => checkTypedData(withChange(MAIL_TYPED_DATA, change), 1), code as 'bad_typed_data', field);
    });
  }

  const orderCases: [string, (t: Record<string, any>) => void, string][] = [
    ['a bool given as a string', (t) => (t.message.partial = 'false'), 'typedData.message.partial'],
    ['an integer out of range', (t) => (t.message.expiry = `0x1${'0'.repeat(16)}`), 'typedData.message.expiry'],
    ['a negative unsigned integer', (t) => (t.message.pair[0] = -1), 'typedData.message.pair[0]'],
    ['a signed integer below its range', (t) => (t.message.legs[0].delta = `-${2n ** 127n + 1n}`), 'typedData.message.legs[0].delta'],
    ['a fractional number', (t) => (t.message.legs[1].delta = 1.5), 'typedData.message.legs[1].delta'],
    ['bytesN of the wrong length', (t) => (t.message.tag = '0xdead'), 'typedData.message.tag'],
    ['bytes that are not hex', (t) => (t.message.legs[1].memo = 'coffee'), 'typedData.message.legs[1].memo'],
    ['a fixed array of the wrong length', (t) => t.message.pair.push(3), 'typedData.message.pair'],
    ['an array given as an object', (t) => (t.message.legs = { 0: t.message.legs[0] }), 'typedData.message.legs'],
    ['a bad salt', (t) => (t.domain.salt = '0x01'), 'typedData.domain.salt'],
    // 14 message values come before grid[0][0], so value 10,001 is grid[0][9986].
    ['more values than the limit', (t) => (t.message.grid = [Array.from({ length: 10_001 }, () => 1)]), 'typedData.message.grid[0][9986]'],
  ];
  for (const [what, change, field] of orderCases) {
    it(`refuses ${what}`, () => {
      expectWalletError(() => checkTypedData(withChange(ORDER_TYPED_DATA, change), 31337), 'bad_typed_data', field);
    });
  }

  it('accepts typed data without a domain chainId on any chain', () => {
    expect(() => checkTypedData(withChange(MAIL_TYPED_DATA, (t) => (delete t.domain.chainId, t.types.EIP712Domain.splice(2, 1))), 31337)).not.toThrow();
  });

  it('parses the JSON string form of the eth_signTypedData_v4 parameter', () => {
    expect(parseTypedDataParam(JSON.stringify(MAIL_TYPED_DATA), 'params[1]')).toEqual(MAIL_TYPED_DATA);
    expect(parseTypedDataParam(MAIL_TYPED_DATA, 'params[1]')).toBe(MAIL_TYPED_DATA);
    expectWalletError(() => parseTypedDataParam('{"types":', 'params[1]'), 'bad_typed_data', 'params[1]');
  });
});
