/**
 * eth_signTypedData (v1, the legacy array form): the digest is @metamask/eth-sig-util's
 * typedSignatureHash; values that could hash two ways are refused as in v3/v4.
 */
import { describe, expect, it } from 'vitest';
import { typedSignatureHash } from '@metamask/eth-sig-util';
import { hexlify } from 'ethers';
import { checkLegacyTypedData, legacyTypedDataDigest } from '../../src/wallet/legacy-typed-data.ts';
import { expectWalletError } from './wallet-fixtures.ts';

/** MetaMask's test-dapp example. */
export const LEGACY_HELLO = [
  { type: 'string', name: 'Message', value: 'Hi, Alice!' },
  { type: 'uint32', name: 'A number', value: '1337' },
];

const EVERY_TYPE = [
  { type: 'address', name: 'to', value: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' },
  { type: 'address', name: 'lowercase', value: '0x5fbdb2315678afecb367f032d93f642f64180aa3' },
  { type: 'bool', name: 'yes', value: true },
  { type: 'bool', name: 'no', value: false },
  { type: 'bytes', name: 'blob', value: '0xC0FFEE' },
  { type: 'bytes', name: 'empty', value: '0x' },
  { type: 'bytes4', name: 'tag', value: '0xdeadbeef' },
  { type: 'bytes32', name: 'hash', value: `0x${'ab'.repeat(32)}` },
  { type: 'int8', name: 'minus one', value: -1 },
  { type: 'int256', name: 'big negative', value: '-1000000000000000000000' },
  { type: 'uint8', name: 'byte', value: 255 },
  { type: 'uint256', name: 'hex', value: '0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff' },
  { type: 'string', name: 'unicode ✓', value: 'ünïcödé 🎉\nsecond line' },
];

const digest = (data: unknown) => hexlify(legacyTypedDataDigest(checkLegacyTypedData(data)));

describe('legacy typed data (v1)', () => {
  it('hashes as eth-sig-util typedSignatureHash', () => {
    expect(digest(LEGACY_HELLO)).toBe(typedSignatureHash(LEGACY_HELLO as never));
    expect(digest(EVERY_TYPE)).toBe(typedSignatureHash(EVERY_TYPE as never));
  });

  it('an address with a wrong checksum is hashed by its bytes, with a notice', () => {
    const data = [{ type: 'address', name: 'spender', value: '0x70997970c51812dc3A010C7d01b50e0d17dc79C8' }];
    expect(digest(data)).toBe(typedSignatureHash(data as never));
    expect(checkLegacyTypedData(data).notices).toEqual([expect.stringMatching(/^spender: the address 0x70997970c51812dc3A010C7d01b50e0d17dc79C8 has a wrong EIP-55 checksum/)]);
  });

  it('gives each entry for display, names and strings escaped', () => {
    const checked = checkLegacyTypedData([{ type: 'string', name: 'Note\u200b', value: 'a\u202eb' }, ...LEGACY_HELLO]);
    expect(checked.entries.map(({ name, type, value }) => ({ name, type, value }))).toEqual([
      { name: 'Note\\u{200b}', type: 'string', value: 'a\\u{202e}b' },
      { name: 'Message', type: 'string', value: 'Hi, Alice!' },
      { name: 'A number', type: 'uint32', value: '1337' },
    ]);
  });

  const refused: [string, unknown, string][] = [
    ['an object instead of an array', { type: 'string', name: 'a', value: 'b' }, 'typedData'],
    ['an empty array', [], 'typedData'],
    ['an entry with an extra key', [{ type: 'string', name: 'a', value: 'b', id: 1 }], 'typedData[0].id'],
    ['an entry without a name', [{ type: 'string', name: '', value: 'b' }], 'typedData[0].name'],
    ['an array type', [{ type: 'uint8[]', name: 'a', value: [1] }], 'typedData[0].type'],
    ['a struct type', [{ type: 'Person', name: 'a', value: {} }], 'typedData[0].type'],
    ['a bool as a string', [{ type: 'bool', name: 'a', value: 'false' }], 'typedData[0].value'],
    ['a negative number for a uint (eth-sig-util takes its absolute value)', [{ type: 'uint8', name: 'a', value: -1 }], 'typedData[0].value'],
    ['bytesN of another length (eth-sig-util truncates)', [{ type: 'bytes4', name: 'a', value: '0xdeadbeef00' }], 'typedData[0].value'],
    ['bytes as text', [{ type: 'bytes', name: 'a', value: 'hello' }], 'typedData[0].value'],
    ['a string as a number', [{ type: 'string', name: 'a', value: 5 }], 'typedData[0].value'],
    ['a missing value', [{ type: 'string', name: 'a' }], 'typedData[0].value'],
  ];
  for (const [what, data, field] of refused) {
    it(`refuses ${what}`, () => expectWalletError(() => checkLegacyTypedData(data), 'bad_typed_data', field));
  }
});
