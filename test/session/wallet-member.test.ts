/**
 * The members' session protocol (WalletMember) between devices that only exchange messages: adding
 * a device with a code compared on each dealer, removing one (blocked from the start, complete on
 * every receipt, the removed device told when it shows up and wiping only after its user
 * confirms), pair keys after a migration, taint notices, envelopes through a member linked to both,
 * and crashes in the middle. Every pair signs afterwards for the same address.
 */
import { describe, expect, it } from 'vitest';
import { accountAddress } from '../../src/mpc/derivation.ts';
import { extensionWalletShare, phoneWalletShare } from '../../src/mpc/wallet-share-codec.ts';
import { withTaints, type WalletShare } from '../../src/mpc/wallet-share.ts';
import { encodeReshareMessage, encodeCertificate } from '../../src/mpc/reshare-messages.ts';
import { runKeygen } from '../mpc/protocol-driver.ts';
import { FixtureKeys, firstPair, newIdentity, signWithPair, type Device } from '../mpc/wallet-driver.ts';
import { MemoryNetwork, startFirstPair, type TestDevice } from './member-network.ts';

const DIGEST = new Uint8Array(32).fill(7);

function addressOf(share: WalletShare | null): string {
  if (!share) throw new Error('no share');
  return accountAddress(share.wallet.publicKey, share.wallet.chainCode, 0);
}

/** Extension + phone A of a fresh wallet, linked, running WalletMember. */
function wallet(keepPair = true) {
  const keys = new FixtureKeys();
  const net = new MemoryNetwork(keys);
  let phoneDevice: Device;
  let extensionDevice: Device;
  if (keepPair) {
    ({ phone: phoneDevice, extension: extensionDevice } = firstPair(keys));
  } else {
    phoneDevice = { identity: newIdentity(), share: null };
    extensionDevice = { identity: newIdentity(), share: null };
    const { p1, p2 } = runKeygen(keys.take());
    const identities = { phone: phoneDevice.identity.publicKey, extension: extensionDevice.identity.publicKey };
    phoneDevice.share = phoneWalletShare(p1, identities, false);
    extensionDevice.share = extensionWalletShare(p2, identities, false);
  }
  const { phoneA, extension } = startFirstPair(net, phoneDevice, extensionDevice);
  return { net, keys, phoneA, extension };
}

/** A pair of devices signs a digest for account `account` with their current shares. */
function pairSigns(devices: TestDevice[], i: TestDevice, j: TestDevice, account = 1): boolean {
  const map = new Map(devices.map((device) => [device.share!.self, { identity: device.identity, share: device.share }]));
  const outcome = signWithPair(map, i.share!.self, j.share!.self, DIGEST, account);
  return outcome.kind === 'signature';
}

/** The extension adds a phone B (dealers: the extension and phone A), with the users' answers. */
async function addPhone(net: MemoryNetwork, extension: TestDevice, dealer: TestDevice, name = 'Phone B', answers: { dealer?: boolean; newcomer?: boolean } = {}): Promise<TestDevice> {
  const phoneB = net.add(newIdentity(), 'phone', name, null);
  phoneB.start();
  // The QR pairing: a channel whose code both users confirmed.
  net.link(extension, phoneB);
  await extension.member.startChange({ remove: [], dealer: dealer.key, candidate: phoneB.key });
  await phoneB.member.beginJoining(extension.key);
  await net.until(() => dealer.decisions('candidate').length === 1 && phoneB.decisions('dealer-code').length === 1, 'both screens show a code');
  const onDealer = dealer.decisions('candidate')[0]!;
  const onNewcomer = phoneB.decisions('dealer-code')[0]!;
  expect(onDealer.kind === 'candidate' && onNewcomer.kind === 'dealer-code' && onDealer.sas).toBe(onNewcomer.kind === 'dealer-code' ? onNewcomer.sas : '');
  if (onDealer.kind === 'candidate') expect(onDealer.members.map((card) => card.name).sort()).toEqual(['Browser', 'Phone A', name].sort());
  dealer.member.decide(onDealer.id, answers.dealer ?? true);
  phoneB.member.decide(onNewcomer.id, answers.newcomer ?? true);
  return phoneB;
}

describe('adding a device', () => {
  it('the extension adds phone B: the same code on the dealer and the newcomer, then every pair signs for the same address', async () => {
    const { net, phoneA, extension } = wallet();
    const address = addressOf(extension.share);
    const phoneB = await addPhone(net, extension, phoneA);
    await net.until(() => [phoneA, extension, phoneB].every((device) => device.share?.wallet.epoch === 1), 'every member commits');
    await net.settle();
    const devices = [phoneA, extension, phoneB];
    expect(devices.map((device) => addressOf(device.share))).toEqual([address, address, address]);
    expect(pairSigns(devices, phoneA, extension)).toBe(true);
    expect(pairSigns(devices, phoneB, extension)).toBe(true);
    expect(pairSigns(devices, phoneA, phoneB)).toBe(true);
    // Every device knows every member by name, and the newcomer has channels with both.
    for (const device of devices) expect(device.member.view().directory.map((entry) => entry.name).sort()).toEqual(['Browser', 'Phone A', 'Phone B']);
    expect(net.linked(phoneA.key, phoneB.key)).toBe(true);
    expect(extension.member.view().change?.step).toBe('committed');
    // Old shares are gone: every member that was in epoch 0 sent its receipt.
    await net.until(() => extension.member.view().last?.receipts.length === 2, 'two receipts');
  });

  it("a dealer's user refuses the newcomer: no reshare runs and nobody's share changes", async () => {
    const { net, phoneA, extension } = wallet();
    const before = [phoneA.share, extension.share];
    const phoneB = await addPhone(net, extension, phoneA, 'Phone B', { dealer: false });
    await net.until(() => extension.member.view().change?.step === 'failed', 'the change fails');
    await net.settle();
    expect(extension.member.view().change?.error).toContain('refused');
    expect([phoneA.share, extension.share]).toEqual(before);
    expect(phoneB.share).toBeNull();
  });

  it('the codes differ on the newcomer: it never says it is ready, so nothing is proposed', async () => {
    const { net, phoneA, extension } = wallet();
    const phoneB = await addPhone(net, extension, phoneA, 'Phone B', { newcomer: false });
    await net.settle();
    expect(phoneB.member.view().joining?.step).toBe('failed');
    expect(extension.member.view().change?.ready).toBe(false);
    expect(phoneA.share?.wallet.epoch).toBe(0);
  });

  it('the coordinator crashes after proposing: the old epoch still signs; run again, the change completes without new codes', async () => {
    const { net, phoneA, extension } = wallet();
    const phoneB = await addPhone(net, extension, phoneA);
    await net.until(() => extension.member.view().reshare !== null, 'the reshare starts');
    extension.crash();
    await net.settle();
    expect(extension.stored.share?.wallet.epoch).toBe(0);
    expect(pairSigns([phoneA, extension], phoneA, extension)).toBe(true);
    // The service worker comes back: the change shows as interrupted, and the user runs it again.
    extension.start();
    expect(extension.member.view().change?.step).toBe('failed');
    await extension.member.retryChange();
    await net.until(() => [phoneA, extension, phoneB].every((device) => device.share?.wallet.epoch === 1), 'every member commits');
    expect(phoneA.decisions()).toEqual([]);
    expect(pairSigns([phoneA, extension, phoneB], phoneB, extension)).toBe(true);
  });
});

describe('a crash while adding a device (the newcomer and the coordinator stop together)', () => {
  // At the third point the round may be past its commit point: phone A, which got the certificate,
  // is in the new epoch while the stopped browser still stores the old share beside its pending one;
  // the pair A–browser then signs again once the browser restarted and committed.
  for (const point of ['the newcomer approved its code', 'the reshare started', 'the newcomer received its share'] as const) {
    it(`at "${point}": the old epoch still signs until a member committed; both start again, run again, the change completes`, async () => {
      const { net, phoneA, extension } = wallet();
      const phoneB = await addPhone(net, extension, phoneA);
      if (point === 'the reshare started') await net.until(() => extension.member.view().reshare !== null, point);
      if (point === 'the newcomer received its share') await net.until(() => phoneB.stored.pending != null, point);
      phoneB.crash();
      extension.crash();
      await net.settle();
      expect(extension.stored.share?.wallet.epoch).toBe(0);
      if (phoneA.share?.wallet.epoch === 0) expect(pairSigns([phoneA, extension], phoneA, extension)).toBe(true);
      else expect(point).toBe('the newcomer received its share');
      phoneB.start();
      extension.start();
      net.online(phoneB);
      net.online(extension);
      await extension.member.retryChange();
      // The interrupted round may still finish (the newcomer asks for its certificate) before or
      // after the rerun: either way every member ends on one epoch holding three members.
      const devices = [phoneA, extension, phoneB];
      await net.until(() => devices.every((device) => (device.share?.wallet.epoch ?? 0) >= 1), 'every member commits');
      await net.settle();
      await net.until(() => new Set(devices.map((device) => device.share?.wallet.epoch)).size === 1, 'one epoch');
      expect(extension.share?.wallet.members).toHaveLength(3);
      expect(pairSigns(devices, phoneB, extension)).toBe(true);
      expect(pairSigns(devices, phoneA, extension)).toBe(true);
      expect(pairSigns(devices, phoneA, phoneB)).toBe(true);
    });
  }
});

describe('removing a device', () => {
  async function threeMembers() {
    const base = wallet();
    const phoneB = await addPhone(base.net, base.extension, base.phoneA);
    await base.net.until(() => [base.phoneA, base.extension, phoneB].every((device) => device.share?.wallet.epoch === 1), 'three members');
    await base.net.settle();
    return { ...base, phoneB };
  }

  it('phone A lost: extension + B remove it; A is blocked from the start; complete on both receipts; A wipes only after its user confirms', async () => {
    const { net, phoneA, extension, phoneB } = await threeMembers();
    const address = addressOf(extension.share);
    const indexA = phoneA.share!.self;
    phoneA.crash();
    await extension.member.startChange({ remove: [phoneA.key], dealer: phoneB.key });
    await net.until(() => phoneB.decisions('reshare').length === 1, 'B is asked');
    // From the proposal on, no pair with A signs, on every remaining member (stored).
    expect(extension.stored.share?.blocked).toContain(indexA);
    expect(phoneB.stored.share?.blocked).toContain(indexA);
    const decision = phoneB.decisions('reshare')[0]!;
    expect(decision.kind === 'reshare' && decision.removed.map((card) => card.name)).toEqual(['Phone A']);
    phoneB.decideAll('reshare');
    await net.until(() => extension.share?.wallet.epoch === 2 && phoneB.share?.wallet.epoch === 2, 'both commit');
    await net.until(() => extension.member.removalComplete(), 'both remaining members confirmed deleting their old share');
    expect(pairSigns([extension, phoneB], phoneB, extension)).toBe(true);
    expect(addressOf(phoneB.share)).toBe(address);
    // A comes back: it is told, stops signing at once, and deletes after its user confirms.
    phoneA.start();
    net.online(phoneA);
    await net.until(() => phoneA.decisions('removed').length === 1, 'A shows it was removed');
    expect(phoneA.member.view().share).toBeNull();
    expect(phoneA.stored.removal).not.toBeNull();
    expect(phoneA.stored.share).not.toBeNull();
    phoneA.decideAll('removed');
    await net.until(() => phoneA.stored.share === null, 'A deleted its share');
    // Its receipt ends its channels for good, on both remaining members.
    await net.until(() => !net.linked(extension.key, phoneA.key) && !net.linked(phoneB.key, phoneA.key), 'A retired');
    expect(extension.member.view().directory.map((entry) => entry.name).sort()).toEqual(['Browser', 'Phone B']);
  });

  it('a removal notice whose certificate is forged is refused: the phone keeps its share', async () => {
    const { net, phoneA, extension, phoneB } = await threeMembers();
    // A is away: it does not get the real notice.
    phoneA.crash();
    await extension.member.startChange({ remove: [phoneA.key], dealer: phoneB.key });
    await net.until(() => phoneB.decisions('reshare').length === 1, 'B asked');
    phoneB.decideAll('reshare');
    await net.until(() => extension.share?.wallet.epoch === 2 && phoneB.share?.wallet.epoch === 2, 'both commit');
    phoneA.start();
    const last = extension.member.view().last!;
    const forged = { ...last.certificate, confirms: last.certificate.confirms.map((confirm) => ({ ...confirm, signature: new Uint8Array(64) })) };
    await phoneA.member.receive(extension.key, { t: 'reshare-certificate', proposal: encodeReshareMessage(last.proposal), certificate: encodeCertificate(forged) });
    await net.settle();
    expect(phoneA.member.view().removal).toBeNull();
    expect(phoneA.member.view().share?.wallet.epoch).toBe(1);
  });
});

describe('pair keys, taints and envelopes', () => {
  it('migrated shares have no pair key: the phone sets one up when the channel comes online, then the pair signs', async () => {
    const { net, phoneA, extension } = wallet(false);
    expect(phoneA.share?.pairs).toEqual([]);
    net.online(phoneA);
    await net.until(() => extension.share?.pairs.length === 1 && phoneA.share?.pairs.length === 1, 'the pair has a key');
    expect(pairSigns([phoneA, extension], phoneA, extension, 0)).toBe(true);
    // A P2 that lost its key asks; its P1 sets up a new one (a fresh modulus, never the same twice).
    const moduli = extension.share!.acceptedModuli.length;
    extension.stored = { ...extension.stored, share: { ...extension.share!, pairs: [] } };
    extension.start();
    net.online(extension);
    await net.until(() => extension.share?.pairs.length === 1, 'a new key');
    expect(extension.share!.acceptedModuli.length).toBe(moduli + 1);
    expect(pairSigns([phoneA, extension], phoneA, extension, 0)).toBe(true);
  });

  it("a P2's request that crossed its P1's setup gets that setup again: one new key, the one the P1 holds", async () => {
    const { net, phoneA, extension } = wallet(false);
    const moduli = extension.share!.acceptedModuli.length;
    // Both come online together: the phone (P1, no key) sets one up, the browser (P2, no key) asks.
    net.online(phoneA);
    await net.until(() => extension.share?.pairs.length === 1 && phoneA.share?.pairs.length === 1, 'the pair has a key');
    await net.settle();
    expect(extension.share!.acceptedModuli.length).toBe(moduli + 1);
    const p1 = phoneA.share!.pairs[0]!;
    const p2 = extension.share!.pairs[0]!;
    expect(p1.role === 'P1' && p2.role === 'P2' && p1.paillier.publicKey.n === p2.paillierN).toBe(true);
    expect(pairSigns([phoneA, extension], phoneA, extension, 0)).toBe(true);
  });

  it('a taint notice from the P1 that saw the failure reaches every member; a forged one changes nothing', async () => {
    const { net, phoneA, extension } = wallet();
    const phoneB = await addPhone(net, extension, phoneA);
    await net.until(() => [phoneA, extension, phoneB].every((device) => device.share?.wallet.epoch === 1), 'three members');
    const suspect = extension.share!.self;
    // A forged notice (signed by the extension itself, which is not the pair's P1) is dropped.
    await phoneB.member.receive(extension.key, { t: 'taint', notice: { type: 'wallet/taint' } });
    const tainted = withTaints(phoneA.share!, [{ suspect: extension.key, epoch: 1 }]);
    await phoneA.member.reportTaint(tainted, suspect);
    await net.until(() => phoneB.share?.wallet.taints.length === 1 && extension.share?.wallet.taints.length === 1, 'every member records it');
    expect(phoneB.share!.wallet.taints[0]!.suspect).toBe(extension.key);
  });

  it('members without a channel of their own reach each other through envelopes a third member passes on', async () => {
    const { net, phoneA, extension } = wallet();
    const phoneB = await addPhone(net, extension, phoneA);
    await net.until(() => [phoneA, extension, phoneB].every((device) => device.share?.wallet.epoch === 1), 'three members');
    // The channel between the phones goes away: a refresh still completes through the extension.
    net.unlink(phoneA.key, phoneB.key);
    await extension.member.startChange({ remove: [], dealer: phoneA.key });
    await net.until(() => phoneA.decisions('reshare').length === 1, 'A asked');
    phoneA.decideAll('reshare');
    await net.until(() => [phoneA, extension, phoneB].every((device) => device.share?.wallet.epoch === 2), 'everyone commits');
    expect(pairSigns([phoneA, extension, phoneB], phoneA, phoneB)).toBe(true);
  });

  it('at the commit every member proves its new share to the others (no "no recent proof" right after a change)', async () => {
    const { net, phoneA, extension } = wallet();
    const phoneB = await addPhone(net, extension, phoneA);
    await net.until(() => [phoneA, extension, phoneB].every((device) => device.share?.wallet.epoch === 1), 'every member commits');
    const others = (device: TestDevice) => [phoneA, extension, phoneB].filter((other) => other !== device).map((other) => other.key).sort();
    await net.until(() => [phoneA, extension, phoneB].every((device) => others(device).every((key) => (device.member.view().health[key] ?? 0) > 0)), 'proofs of the new epoch');
  });

  it('proofs of share health are recorded for each member that sends one', async () => {
    const { net, phoneA, extension } = wallet();
    net.online(phoneA);
    await net.until(() => Object.keys(extension.member.view().health).length === 1 && Object.keys(phoneA.member.view().health).length === 1, 'proofs recorded');
    expect(extension.member.view().health[phoneA.key]).toBeGreaterThan(Date.now() - 60_000);
  });
});
