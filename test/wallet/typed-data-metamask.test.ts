/**
 * Typed data as MetaMask signs it: the digest is exactly @metamask/eth-sig-util's (its
 * TypedDataUtils.eip712Hash is the reference, a dev dependency used only here), including the two
 * real payloads MetaMask signs and Duet used to refuse; what MetaMask tolerates comes with a
 * notice both screens show; what could hash two ways is still refused.
 */
import { describe, expect, it } from 'vitest';
import { SignTypedDataVersion, TypedDataUtils } from '@metamask/eth-sig-util';
import { hexlify } from 'ethers';
import { checkTypedData, typedDataDigest, type TypedDataVersion } from '../../src/wallet/typed-data.ts';
import { NFT_PERMIT_WRONG_CHECKSUM, PERMIT2_BATCH_WITH_VERSION } from './metamask-payloads.ts';
import { MAIL_TYPED_DATA, ORDER_TYPED_DATA, expectWalletError, withChange } from './wallet-fixtures.ts';

/** The Order fixture as a site might send it: hex chain id, lowercase and uppercase hex, unicode. */
const ORDER_V4 = withChange(ORDER_TYPED_DATA, (t) => {
  t.domain.chainId = '0x1';
  t.message.legs[0].asset = t.message.legs[0].asset.toLowerCase();
  t.message.legs[1].memo = '0xC0FFEE';
  t.message.pair = [1, '0x2'];
  t.message.expiry = '18446744073709551615';
  t.types.Order.push({ name: 'note', type: 'string' });
  t.message.note = 'ünïcödé ✓ 🎉';
});

function metamaskDigest(typedData: unknown, version: TypedDataVersion = 'v4'): string {
  return hexlify(TypedDataUtils.eip712Hash(typedData as never, version === 'v3' ? SignTypedDataVersion.V3 : SignTypedDataVersion.V4));
}

const duetDigest = (typedData: unknown, version: TypedDataVersion = 'v4', chainId = 1) => hexlify(typedDataDigest(checkTypedData(typedData, chainId, 'typedData', version)));

describe('the digest is what MetaMask signs', () => {
  it('Permit2 PermitBatch with an undeclared domain version: the version is not hashed, and a notice says so', () => {
    expect(duetDigest(PERMIT2_BATCH_WITH_VERSION)).toBe(metamaskDigest(PERMIT2_BATCH_WITH_VERSION));
    const checked = checkTypedData(PERMIT2_BATCH_WITH_VERSION, 1);
    expect(checked.domain.fields.map((field) => field.name)).toEqual(['name', 'chainId', 'verifyingContract']);
    expect(checked.notices).toEqual([expect.stringMatching(/^domain\.version \("1"\) is not declared in types\.EIP712Domain: it is not part of the signature/)]);
  });

  it('an ERC-721 permit whose spender has a wrong EIP-55 checksum: the 20 bytes are hashed, shown checksummed, with a notice', () => {
    expect(duetDigest(NFT_PERMIT_WRONG_CHECKSUM)).toBe(metamaskDigest(NFT_PERMIT_WRONG_CHECKSUM));
    const checked = checkTypedData(NFT_PERMIT_WRONG_CHECKSUM, 1);
    expect(checked.message.fields[0]?.value).toMatchObject({ kind: 'atomic', type: 'address', value: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' });
    expect(checked.notices).toEqual([expect.stringMatching(/^message\.spender: the address 0x70997970c51812dc3A010C7d01b50e0d17dc79C8 has a wrong EIP-55 checksum/)]);
  });

  it('agrees on the specification example, arrays, nested arrays, negative integers, bytes, hex and decimal integers, lowercase addresses and unicode', () => {
    expect(duetDigest(MAIL_TYPED_DATA)).toBe(metamaskDigest(MAIL_TYPED_DATA));
    expect(duetDigest(ORDER_V4)).toBe(metamaskDigest(ORDER_V4));
  });

  it('hashes the domain in the order its EIP712Domain type declares, as MetaMask does', () => {
    const reordered = withChange(MAIL_TYPED_DATA, (t) => t.types.EIP712Domain.reverse());
    expect(duetDigest(reordered)).toBe(metamaskDigest(reordered));
    expect(duetDigest(reordered)).not.toBe(duetDigest(MAIL_TYPED_DATA));
  });

  it('an empty domain without an EIP712Domain type is EIP712Domain()', () => {
    const empty = withChange(MAIL_TYPED_DATA, (t) => ((t.domain = {}), delete t.types.EIP712Domain));
    expect(duetDigest(empty)).toBe(metamaskDigest(empty));
  });

  it('message keys that no type declares are not hashed, and a notice names them', () => {
    const extra = withChange(MAIL_TYPED_DATA, (t) => ((t.message.amount = '1000'), (t.message.to.nickname = 'B')));
    expect(duetDigest(extra)).toBe(metamaskDigest(extra));
    expect(checkTypedData(extra, 1).notices).toEqual([expect.stringContaining('message.amount, message.to.nickname')]);
  });

  it('v3: the same digest as eth-sig-util V3 for data without arrays', () => {
    expect(duetDigest(MAIL_TYPED_DATA, 'v3')).toBe(metamaskDigest(MAIL_TYPED_DATA, 'v3'));
    expect(duetDigest(NFT_PERMIT_WRONG_CHECKSUM, 'v3')).toBe(metamaskDigest(NFT_PERMIT_WRONG_CHECKSUM, 'v3'));
  });

  it('v3: arrays are refused (eth-sig-util V3 cannot hash them)', () => {
    expectWalletError(() => checkTypedData(PERMIT2_BATCH_WITH_VERSION, 1, 'typedData', 'v3'), 'bad_typed_data', 'typedData.types.PermitBatch[0].type');
  });
});

describe('what could hash two ways is refused', () => {
  const cases: [string, unknown, string][] = [
    // eth-sig-util ≥ 9 hashes "false" as false, earlier versions and ethers as true.
    ['a bool given as the string "false"', withChange(ORDER_V4, (t) => (t.message.partial = 'false')), 'typedData.message.partial'],
    // A JSON number above 2^53 has already lost digits: the site and Duet would read different values.
    ['an integer beyond 2^53 as a JSON number', withChange(ORDER_V4, (t) => (t.message.expiry = 2 ** 60)), 'typedData.message.expiry'],
    // eth-sig-util reads "" as 0.
    ['an empty integer string', withChange(ORDER_V4, (t) => (t.message.expiry = '')), 'typedData.message.expiry'],
    // eth-sig-util pads a short bytesN on the right, a number-minded site means the left.
    ['bytesN shorter than N', withChange(ORDER_V4, (t) => (t.message.tag = '0xdead')), 'typedData.message.tag'],
    // eth-sig-util hashes a non-hex string as UTF-8, ethers refuses it.
    ['bytes that are not hex', withChange(ORDER_V4, (t) => (t.message.legs[1].memo = 'coffee')), 'typedData.message.legs[1].memo'],
    ['bytes of an odd length', withChange(ORDER_V4, (t) => (t.message.legs[1].memo = '0xabc')), 'typedData.message.legs[1].memo'],
    // eth-sig-util reads a non-hex address string digit by digit in base 10.
    ['an address that is not hex', withChange(MAIL_TYPED_DATA, (t) => (t.message.to.wallet = 'bob.eth')), 'typedData.message.to.wallet'],
    ['an address given as a number', withChange(MAIL_TYPED_DATA, (t) => (t.message.to.wallet = 12345)), 'typedData.message.to.wallet'],
    // MetaMask hashes the empty EIP712Domain(), ethers and viem derive the domain from its keys.
    ['a domain without an EIP712Domain type', withChange(MAIL_TYPED_DATA, (t) => delete t.types.EIP712Domain), 'typedData.types.EIP712Domain'],
    // eth-sig-util V4 hashes a missing struct as zero, V3 leaves the field out.
    ['a missing struct field', withChange(MAIL_TYPED_DATA, (t) => delete t.message.to), 'typedData.message.to'],
    ['a declared domain field that is missing', withChange(MAIL_TYPED_DATA, (t) => delete t.domain.name), 'typedData.domain.name'],
    ['a fixed array of the wrong length', withChange(ORDER_V4, (t) => t.message.pair.push(3)), 'typedData.message.pair'],
    ['a standard domain field declared with another type', withChange(MAIL_TYPED_DATA, (t) => (t.types.EIP712Domain[2].type = 'string')), 'typedData.types.EIP712Domain[2]'],
  ];
  for (const [what, payload, field] of cases) {
    it(`refuses ${what}`, () => expectWalletError(() => checkTypedData(payload, 1), 'bad_typed_data', field));
  }

  it('refuses an undeclared domain chainId for another chain (MetaMask checks it too)', () => {
    const other = withChange(PERMIT2_BATCH_WITH_VERSION, (t) => ((t.domain.chainId = 5), t.types.EIP712Domain.splice(1, 1)));
    expectWalletError(() => checkTypedData(other, 1), 'chain_mismatch', 'typedData.domain.chainId');
  });
});

describe('the chain a signature is valid on', () => {
  it('is the declared domain chainId, or every chain when the domain has none that is signed', () => {
    expect(checkTypedData(MAIL_TYPED_DATA, 1).chainId).toBe(1);
    const chainless = withChange(MAIL_TYPED_DATA, (t) => (delete t.domain.chainId, t.types.EIP712Domain.splice(2, 1)));
    expect(checkTypedData(chainless, 31337).chainId).toBeNull();
    const undeclared = withChange(MAIL_TYPED_DATA, (t) => t.types.EIP712Domain.splice(2, 1));
    expect(checkTypedData(undeclared, 1).chainId).toBeNull();
  });
});
