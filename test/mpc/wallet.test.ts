/**
 * {2,n} wallets on the two-party engine: the first pair as a 2-of-2 Shamir sharing, a third member
 * added by reshare, every pair signing for the same addresses, replace, remove and refresh.
 */
import { describe, expect, it } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { accountAddress, accountPublicKey } from '../../src/mpc/derivation.ts';
import { randomBytes } from '../../src/mpc/random.ts';
import { decodeWalletShare, encodeWalletShare } from '../../src/mpc/wallet-share-codec.ts';
import { memberByIndex, pairRoles, type WalletShare } from '../../src/mpc/wallet-share.ts';
import { FixtureKeys, firstPair, newIdentity, newMember, runReshare, signWithPair, type Device } from './wallet-driver.ts';
import { wire } from './protocol-driver.ts';

const ACCOUNTS = [0, 1, 7, 1_000_000];

function addresses(share: WalletShare): string[] {
  return ACCOUNTS.map((account) => accountAddress(share.wallet.publicKey, share.wallet.chainCode, account));
}

/** Every pair of `indices` signs `count` digests over the test accounts; all verify (noble) for the same keys. */
function everyPairSigns(devices: Map<number, Device>, indices: number[], count: number): void {
  const reference = devices.get(indices[0]!)!.share as WalletShare;
  for (let a = 0; a < indices.length; a++) {
    for (let b = a + 1; b < indices.length; b++) {
      for (let k = 0; k < count; k++) {
        const digest = randomBytes(32);
        const account = ACCOUNTS[k % ACCOUNTS.length]!;
        const outcome = signWithPair(devices, indices[a]!, indices[b]!, digest, account);
        if (outcome.kind !== 'signature') throw new Error(`pair {${indices[a]}, ${indices[b]}} failed`);
        const { r, s } = outcome.signature;
        const accountKey = accountPublicKey(reference.wallet.publicKey, reference.wallet.chainCode, account).toBytes(true);
        expect(secp256k1.verify(new secp256k1.Signature(r, s).toBytes('compact'), digest, accountKey, { prehash: false })).toBe(true);
      }
    }
  }
}

describe('a 2-of-2 wallet from the first pairing', () => {
  it('is a Shamir sharing whose pair signs for the keygen address, and survives its JSON encoding', () => {
    const keys = new FixtureKeys();
    const { phone, extension } = firstPair(keys);
    const devices = new Map([[1, phone], [2, extension]]);
    const share = phone.share as WalletShare;
    expect(share.wallet.members.map((member) => [member.index, member.role])).toEqual([[1, 'phone'], [2, 'extension']]);
    expect(pairRoles(memberByIndex(share.wallet, 1), memberByIndex(share.wallet, 2)).p1.index).toBe(1);
    for (const device of [phone, extension]) {
      const decoded = decodeWalletShare(wire(encodeWalletShare(device.share as WalletShare)));
      expect(encodeWalletShare(decoded)).toEqual(encodeWalletShare(device.share as WalletShare));
    }
    everyPairSigns(devices, [1, 2], 4);
  });
});

describe('adding a third member by reshare', () => {
  it('keeps every address; each of the 3 pairs signs 20 digests over several accounts', () => {
    const keys = new FixtureKeys();
    const { phone, extension } = firstPair(keys);
    const before = addresses(phone.share as WalletShare);
    const tablet: Device = { identity: newIdentity(), share: null };
    const devices = new Map([[1, phone], [2, extension], [3, tablet]]);
    const wallet = (phone.share as WalletShare).wallet;
    runReshare(devices, 2, { newMembers: [...wallet.members, newMember(3, 'phone', tablet, 1)], dealers: [1, 2] }, keys);
    for (const device of devices.values()) {
      const share = device.share as WalletShare;
      expect(share.wallet.epoch).toBe(1);
      expect(addresses(share)).toEqual(before);
      expect(share.pairs).toHaveLength(2);
    }
    everyPairSigns(devices, [1, 2, 3], 20);
  });
});
