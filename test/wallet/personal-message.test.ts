import { describe, expect, it } from 'vitest';
import { hexlify, toUtf8Bytes } from 'ethers';
import { MAX_PERSONAL_MESSAGE_BYTES, parsePersonalSignParams, personalMessageHex } from '../../src/wallet/personal-message.ts';
import { DEV_ADDRESS, expectWalletError } from './wallet-fixtures.ts';

describe('personal_sign parameters', () => {
  it('reads [message, address] with a UTF-8 message', () => {
    expect(parsePersonalSignParams(['hello', DEV_ADDRESS.toLowerCase()])).toEqual({ message: hexlify(toUtf8Bytes('hello')), address: DEV_ADDRESS });
  });

  it('reads a 0x-hex message as bytes, lowercased', () => {
    expect(parsePersonalSignParams(['0x68656C6C6F', DEV_ADDRESS]).message).toBe('0x68656c6c6f');
    expect(parsePersonalSignParams(['0x', DEV_ADDRESS]).message).toBe('0x');
  });

  it('reads a 0x string that is not whole hex bytes as text', () => {
    expect(personalMessageHex('0xabc', 'params[0]')).toBe(hexlify(toUtf8Bytes('0xabc')));
    expect(personalMessageHex('0xzz', 'params[0]')).toBe(hexlify(toUtf8Bytes('0xzz')));
  });

  it('accepts the legacy order [address, message] when only the first is an address', () => {
    expect(parsePersonalSignParams([DEV_ADDRESS, 'hello'])).toEqual({ message: hexlify(toUtf8Bytes('hello')), address: DEV_ADDRESS });
  });

  it('keeps [message, address] when both look like addresses (signing an address as a message)', () => {
    const other = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
    expect(parsePersonalSignParams([other, DEV_ADDRESS])).toEqual({ message: other.toLowerCase(), address: DEV_ADDRESS });
  });

  it('does not take an ICAP string for an address', () => {
    expect(parsePersonalSignParams(['XE7338O073KYGTWWZN0F2WZ0R8PX5ZPPZS', DEV_ADDRESS]).message).toBe(hexlify(toUtf8Bytes('XE7338O073KYGTWWZN0F2WZ0R8PX5ZPPZS')));
  });

  it('ignores a third (legacy password) element', () => {
    expect(parsePersonalSignParams(['hello', DEV_ADDRESS, 'unused']).address).toBe(DEV_ADDRESS);
  });

  it('refuses bad parameters with an error naming them', () => {
    expectWalletError(() => parsePersonalSignParams('hello'), 'bad_personal_sign_params', 'params');
    expectWalletError(() => parsePersonalSignParams(['hello']), 'bad_personal_sign_params', 'params');
    expectWalletError(() => parsePersonalSignParams(['hello', DEV_ADDRESS, 'x', 'y']), 'bad_personal_sign_params', 'params');
    expectWalletError(() => parsePersonalSignParams(['hello', 'not an address']), 'bad_personal_sign_params', 'params[1]');
    expectWalletError(() => parsePersonalSignParams(['hello', '0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266']), 'bad_personal_sign_params', 'params[1]');
    expectWalletError(() => parsePersonalSignParams([42, DEV_ADDRESS]), 'bad_personal_sign_params', 'params[0]');
    expectWalletError(() => parsePersonalSignParams([DEV_ADDRESS, 42]), 'bad_personal_sign_params', 'params[1]');
    expectWalletError(() => personalMessageHex(`0x${'00'.repeat(MAX_PERSONAL_MESSAGE_BYTES + 1)}`, 'params[0]'), 'bad_personal_sign_params', 'params[0]');
  });
});
