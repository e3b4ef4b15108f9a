/**
 * {2,n} wallets on the two-party engine: the first pair as a 2-of-2 Shamir sharing, a third member
 * added by reshare, every pair signing for the same addresses, replace, remove and refresh.
 */
import { describe, expect, it } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { accountAddress, accountPublicKey } from '../../src/mpc/derivation.ts';
import { randomBytes } from '../../src/mpc/random.ts';
import { readFileSync } from 'node:fs';
import { decodeP1KeyShare, decodeP2KeyShare } from '../../src/mpc/key-share-codec.ts';
import { decodePairSetupMsg, encodePairSetupMsg, p1PairSetup, p2PairAccept } from '../../src/mpc/pair-setup.ts';
import { decodeWalletShare, encodeWalletPublic, encodeWalletShare, extensionWalletShare, phoneWalletShare } from '../../src/mpc/wallet-share-codec.ts';
import { memberByIndex, pairRoles, type WalletShare } from '../../src/mpc/wallet-share.ts';
import { FixtureKeys, firstPair, newIdentity, newMember, runReshare, signWithPair, type Device } from './wallet-driver.ts';
import { wire } from './protocol-driver.ts';
import { expectMpcError } from './expect-mpc-error.ts';

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

describe('replacing and removing members', () => {
  it('replace: member 2 out, member 4 in; pairs with 2 refused from the start, no old Paillier key or ckey survives', () => {
    const keys = new FixtureKeys();
    const { phone, extension } = firstPair(keys);
    const tablet: Device = { identity: newIdentity(), share: null };
    const devices = new Map([[1, phone], [2, extension], [3, tablet]]);
    runReshare(devices, 2, { newMembers: [...(phone.share as WalletShare).wallet.members, newMember(3, 'phone', tablet, 1)], dealers: [1, 2] }, keys);
    const address = addresses(phone.share as WalletShare);
    const oldModuli = [...devices.values()].flatMap((device) => (device.share as WalletShare).pairs.map((pair) => (pair.role === 'P1' ? pair.paillier.publicKey.n : pair.paillierN)));

    // The extension is lost: its removal starts; from now on no pair with member 2 signs.
    for (const device of [phone, tablet]) device.share = { ...(device.share as WalletShare), blocked: [2] };
    expectMpcError(() => signWithPair(devices, 1, 2, randomBytes(32), 0), 'membership_refused', 'pair');
    expectMpcError(() => signWithPair(devices, 3, 2, randomBytes(32), 0), 'membership_refused', 'pair');

    const laptop: Device = { identity: newIdentity(), share: null };
    const next = new Map([[1, phone], [3, tablet], [4, laptop]]);
    const members = (phone.share as WalletShare).wallet.members.filter((member) => member.index !== 2);
    runReshare(next, 1, { newMembers: [...members, newMember(4, 'extension', laptop, 2)], dealers: [1, 3] }, keys);
    for (const device of next.values()) {
      const share = device.share as WalletShare;
      expect(share.wallet.epoch).toBe(2);
      expect(share.wallet.members.map((member) => member.index)).toEqual([1, 3, 4]);
      expect(share.blocked).toEqual([]);
      expect(addresses(share)).toEqual(address);
      for (const pair of share.pairs) expect(oldModuli).not.toContain(pair.role === 'P1' ? pair.paillier.publicKey.n : pair.paillierN);
    }
    everyPairSigns(next, [1, 3, 4], 3);
    // The removed device's old share no longer combines with any new one.
    expectMpcError(() => signWithPair(new Map([[1, phone], [2, extension]]), 1, 2, randomBytes(32), 0), 'out_of_range', 'member');
  });

  it('remove (3 → 2 members), then 10 plain refreshes: the address never changes and the pair still signs', () => {
    const keys = new FixtureKeys();
    const { phone, extension } = firstPair(keys);
    const tablet: Device = { identity: newIdentity(), share: null };
    const devices = new Map([[1, phone], [2, extension], [3, tablet]]);
    runReshare(devices, 2, { newMembers: [...(phone.share as WalletShare).wallet.members, newMember(3, 'phone', tablet, 1)], dealers: [1, 2] }, keys);
    const address = addresses(phone.share as WalletShare);
    const pair = new Map([[1, phone], [2, extension]]);
    runReshare(pair, 1, { newMembers: (phone.share as WalletShare).wallet.members.filter((member) => member.index !== 3), dealers: [1, 2] }, keys);
    const firstShare = (phone.share as WalletShare).share;
    for (let k = 0; k < 10; k++) runReshare(pair, 2, { newMembers: (phone.share as WalletShare).wallet.members, dealers: [1, 2] }, keys);
    const share = phone.share as WalletShare;
    expect(share.wallet.epoch).toBe(12);
    expect(share.wallet.nextIndex).toBe(4);
    expect(share.share).not.toBe(firstShare);
    expect(addresses(share)).toEqual(address);
    everyPairSigns(pair, [1, 2], 4);
  });
});

describe('migrating stored shares of the first version', () => {
  it('become the n = 2 wallet with the same addresses, sign only after a fresh pair setup, then sign', () => {
    const stored = JSON.parse(readFileSync(new URL('../fixtures/v1-key-shares.json', import.meta.url), 'utf8')) as { address: string; phone: unknown; extension: unknown };
    const phone: Device = { identity: newIdentity(), share: null };
    const extension: Device = { identity: newIdentity(), share: null };
    const identities = { phone: phone.identity.publicKey, extension: extension.identity.publicKey };
    phone.share = phoneWalletShare(decodeP1KeyShare(stored.phone), identities, false);
    extension.share = extensionWalletShare(decodeP2KeyShare(stored.extension), identities, false);
    expect(addresses(phone.share)[0]).toBe(stored.address);
    expect(encodeWalletPublic(phone.share.wallet)).toEqual(encodeWalletPublic(extension.share.wallet));
    const devices = new Map([[1, phone], [2, extension]]);
    // The old modulus passed only the checks of before the modulus proof: no pair until a new setup.
    expectMpcError(() => signWithPair(devices, 1, 2, randomBytes(32), 0), 'unexpected_message', 'pair');
    const sessionId = randomBytes(32);
    const keys = new FixtureKeys();
    const setup = p1PairSetup({ sessionId, wallet: phone.share.wallet, self: 1, share: phone.share.share, counterpart: 2 }, keys.take());
    const accepted = p2PairAccept({ sessionId, wallet: extension.share.wallet, self: 2, acceptedModuli: extension.share.acceptedModuli }, decodePairSetupMsg(wire(encodePairSetupMsg(setup.message))));
    phone.share = { ...phone.share, pairs: [setup.pair] };
    extension.share = { ...extension.share, pairs: [accepted.pair], acceptedModuli: [...extension.share.acceptedModuli, accepted.modulusHash] };
    everyPairSigns(devices, [1, 2], 4);
  });
});
