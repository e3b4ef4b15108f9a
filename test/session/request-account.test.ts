/**
 * The phone signs only for the account it shows (issue 11, point 2): a request whose account
 * index does not derive its address is answered `bad_request` and never shown; the address shown
 * is the one the phone derived.
 */
import { describe, expect, it } from 'vitest';
import { accountAddress } from '../../src/mpc/derivation.ts';
import { modulusHash } from '../../src/mpc/pair-setup.ts';
import type { AppMessage } from '../../src/session/messages.ts';
import { PhoneCoSigner, type PhoneEvent } from '../../src/session/phone-cosigner.ts';
import { derivedAccount } from '../../src/session/request-account.ts';
import { encodeSigningRequest, newSigningRequestId, type PersonalSignRequest } from '../../src/wallet/signing-request.ts';
import { dealKeyShares } from '../mpc/dealer.ts';
import { loadPaillierFixture } from '../mpc/fixtures.ts';
import { expectWalletError } from '../wallet/wallet-fixtures.ts';

const { p1 } = dealKeyShares(0x1234567890abcdefn, loadPaillierFixture(0));
const account0 = accountAddress(p1.publicKey, p1.chainCode, 0);
const account1 = accountAddress(p1.publicKey, p1.chainCode, 1);
const pair = modulusHash(p1.paillier.publicKey.n);

function request(index: number, address: string): PersonalSignRequest {
  return { id: newSigningRequestId(), kind: 'personal_sign', origin: 'https://dapp.example', chainId: 1, account: { index, address }, createdAt: 1_700_000_000_000, message: '0x6869' };
}

function phoneWithWallet() {
  const sent: AppMessage[] = [];
  const events: PhoneEvent[] = [];
  const phone = new PhoneCoSigner({ send: (m) => sent.push(m), saveKeyShare: async () => undefined, saveTaint: async () => undefined, onEvent: (e) => events.push(e), keyShare: p1 });
  return { phone, sent, events };
}

describe('the account a request names', () => {
  it('derives: index 0 and 1 give their own addresses, in checksum form', () => {
    expect(derivedAccount(p1, { index: 1, address: account1.toLowerCase() })).toEqual({ index: 1, address: account1 });
    expect(derivedAccount(p1, { index: 0, address: account0 })).toEqual({ index: 0, address: account0 });
  });

  it('refuses an index that does not give the address, and a device without a key', () => {
    expectWalletError(() => derivedAccount(p1, { index: 1, address: account0 }), 'bad_request', 'request.account.address');
    expectWalletError(() => derivedAccount(p1, { index: 0, address: account1 }), 'bad_request', 'request.account.address');
    expectWalletError(() => derivedAccount(null, { index: 0, address: account0 }), 'bad_request', 'request.account');
  });

  it('the phone answers bad_request to account 0 shown with account 1 signed, and never shows it', async () => {
    const { phone, sent, events } = phoneWithWallet();
    const substituted = request(1, account0);
    await phone.handle({ t: 'sign-request', request: encodeSigningRequest(substituted), pair });
    expect(sent).toEqual([{ t: 'sign-failed', id: substituted.id, reason: 'bad_request', message: expect.stringContaining('request.account.address') }]);
    expect(events).toEqual([]);
    expect(phone.list()).toEqual([]);
  });

  it('a request from an extension older than the {2,n} wallet (no pair key named) is refused saying so; another pair key is refused and reported', async () => {
    const mismatches: string[] = [];
    const sent: AppMessage[] = [];
    const phone = new PhoneCoSigner({ send: (m) => sent.push(m), saveKeyShare: async () => undefined, saveTaint: async () => undefined, onEvent: () => undefined, keyShare: p1, onPairMismatch: (have) => mismatches.push(have) });
    const first = request(1, account1);
    await phone.handle({ t: 'sign-request', request: encodeSigningRequest(first) });
    const second = request(1, account1);
    await phone.handle({ t: 'sign-request', request: encodeSigningRequest(second), pair: 'ab'.repeat(32) });
    expect(sent).toEqual([
      { t: 'sign-failed', id: first.id, reason: 'bad_request', message: expect.stringContaining('older than this phone app') },
      { t: 'sign-failed', id: second.id, reason: 'protocol_error', message: expect.stringContaining('different keys for this pair') },
    ]);
    expect(mismatches).toEqual(['ab'.repeat(32)]);
    expect(phone.list()).toEqual([]);
  });

  it('the phone shows a matching request with the address it derived', async () => {
    const { phone, events } = phoneWithWallet();
    const honest = request(1, account1);
    await phone.handle({ t: 'sign-request', request: encodeSigningRequest(honest), pair });
    expect(events.map((e) => e.kind)).toEqual(['request']);
    expect(phone.list()[0]?.display.fields).toContainEqual({ label: 'Account', value: account1 });
  });
});
