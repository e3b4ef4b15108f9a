import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createPairingOffer, encodePairingLink } from '../../src/channel/pairing-offer.ts';
import { PHONE_VAULT } from '../../src/phone/phone-controller.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { encodeP1KeyShare } from '../../src/mpc/key-share-codec.ts';
import { createVault, unlockVault } from '../../src/vault/vault.ts';
import { dealKeyShares } from '../mpc/dealer.ts';
import { loadPaillierFixture } from '../mpc/fixtures.ts';
import { extensionOffering } from './extension-peer.ts';
import { waitFor } from '../relay/relay-support.ts';
import { FAST_KEYS, TEST_PASSPHRASE, freshPhone, openPhone, rawVault, unlockedPhone } from './phone-support.ts';

let relay: RunningRelay;
beforeAll(async () => {
  (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
  relay = await startRelay({ port: 0, staticDir: null, log: () => undefined });
});
afterAll(() => relay.close());

describe('phone controller', () => {
  it('gives clear messages for malformed, expired and already-used pairing links', async () => {
    const phone = await unlockedPhone();
    await phone.pair('https://duet.example/#p=garbage');
    expect(phone.view().error).toMatch(/damaged|no pairing offer/);
    const { offer: old } = createPairingOffer(relay.wsUrl, Date.now() - 10 * 60_000);
    await phone.pair(encodePairingLink(old, 'https://duet.example/'));
    expect(phone.view().error).toContain('expired');
    const { offer } = createPairingOffer(relay.wsUrl, Date.now());
    const link = encodePairingLink(offer, 'https://duet.example/');
    await phone.pair(link);
    expect(phone.view().screen).toBe('confirm-sas');
    await phone.pair(link);
    expect(phone.view().error).toContain('already used');
    phone.lock();
  });

  it('a first run stopped before the identity key was stored: unlocking creates it, and pairing works', async () => {
    (await freshPhone()).lock();
    (await createVault(PHONE_VAULT, { kdf: 'scrypt', password: TEST_PASSPHRASE, cost: FAST_KEYS.scryptCost }, FAST_KEYS)).lock();
    const phone = await openPhone();
    expect(phone.view()).toMatchObject({ screen: 'unlock', unlockMethod: 'passphrase' });
    await phone.unlock(TEST_PASSPHRASE);
    expect(phone.view()).toMatchObject({ screen: 'home', error: null });
    const { offer } = createPairingOffer(relay.wsUrl, Date.now());
    await phone.pair(encodePairingLink(offer, 'https://duet.example/'));
    expect(phone.view().screen).toBe('confirm-sas');
    phone.lock();
  });

  it('a stored pairing of an older version that cannot be moved (no pinned identity): the screen says so, and Unpair works', async () => {
    (await unlockedPhone()).lock();
    const vault = await unlockVault(PHONE_VAULT, TEST_PASSPHRASE, FAST_KEYS);
    const { p1 } = dealKeyShares(0x1234n, loadPaillierFixture(0));
    await vault.putMany({ keyShare: encodeP1KeyShare(p1), channel: { channelId: 'AAAAAAAAAAAAAAAAAAAAAA' }, relay: { v: 1, relayUrl: relay.wsUrl } });
    vault.lock();
    const phone = await openPhone();
    await phone.unlock(TEST_PASSPHRASE);
    expect(phone.view()).toMatchObject({ screen: 'home', online: false, address: null, error: expect.stringContaining('no pinned identity') });
    await phone.unpair();
    expect((await rawVault()).records).not.toHaveProperty('keyShare');
    expect(phone.view()).toMatchObject({ screen: 'home', address: null });
    phone.lock();
  });

  it('an unpaired phone refuses a recover link (it holds no wallet) and stays as it was; an add-member link takes it to the code', async () => {
    const phone = await unlockedPhone();
    const before = await rawVault();
    const recover = await extensionOffering(relay.wsUrl, 'recover');
    await phone.pair(recover.link);
    expect(phone.view()).toMatchObject({ screen: 'home', address: null });
    expect(phone.view().error).toContain('holds no wallet');
    recover.peerLink.close();
    expect(await rawVault()).toEqual(before);
    const join = await extensionOffering(relay.wsUrl, 'add-member');
    await phone.pair(join.link);
    await waitFor(() => phone.view().screen === 'confirm-sas');
    join.peerLink.close();
    phone.lock();
  });

  it("refuses a link whose relay the app's CSP would block, before changing anything", async () => {
    const phone = await unlockedPhone({ relayAllowed: (url) => url.startsWith('wss://relay.duet.example') });
    const before = await rawVault();
    const peer = await extensionOffering(relay.wsUrl);
    await phone.pair(peer.link);
    expect(phone.view()).toMatchObject({ screen: 'home', address: null, error: expect.stringContaining('does not connect to the relay') });
    expect(await rawVault()).toEqual(before);
    peer.peerLink.close();
    phone.lock();
  });
});
