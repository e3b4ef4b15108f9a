import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createPairingOffer, encodePairingLink } from '../../src/channel/pairing-offer.ts';
import { PHONE_VAULT, PhoneController } from '../../src/phone/phone-controller.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { createVault } from '../../src/vault/vault.ts';
import { loadPreparedPaillierFixture } from '../mpc/fixtures.ts';

let relay: RunningRelay;
beforeAll(async () => {
  (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
  relay = await startRelay({ port: 0, staticDir: null, log: () => undefined });
});
afterAll(() => relay.close());

async function freshPhone(): Promise<PhoneController> {
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase(PHONE_VAULT);
    request.onsuccess = () => resolve();
    request.onerror = () => resolve();
  });
  const phone = new PhoneController(null, { paillierKeys: async () => loadPreparedPaillierFixture(0) });
  await phone.start();
  return phone;
}

describe('phone controller', () => {
  it('asks for a PIN first, refuses short or mismatched PINs, then unlocks only with the right one', async () => {
    const phone = await freshPhone();
    expect(phone.view().screen).toBe('create-pin');
    await phone.createPin('123', '123');
    expect(phone.view().error).toContain('at least 6');
    await phone.createPin('123456', '654321');
    expect(phone.view().error).toContain('differ');
    expect(phone.unlocked).toBe(false);
    await phone.createPin('123456', '123456');
    expect(phone.view().screen).toBe('home');
    phone.lock();
    expect(phone.view().screen).toBe('unlock');
    await phone.unlock('000000');
    expect(phone.view().error).toBe('Wrong PIN.');
    expect(phone.unlocked).toBe(false);
    await phone.unlock('123456');
    expect(phone.view().screen).toBe('home');
    phone.lock();
  });

  it('gives clear messages for malformed, expired and already-used pairing links', async () => {
    const phone = await freshPhone();
    await phone.createPin('123456', '123456');
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
    await freshPhone();
    (await createVault(PHONE_VAULT, '123456')).lock();
    const phone = new PhoneController(null, { paillierKeys: async () => loadPreparedPaillierFixture(0) });
    await phone.start();
    expect(phone.view().screen).toBe('unlock');
    await phone.unlock('123456');
    expect(phone.view()).toMatchObject({ screen: 'home', error: null });
    const { offer } = createPairingOffer(relay.wsUrl, Date.now());
    await phone.pair(encodePairingLink(offer, 'https://duet.example/'));
    expect(phone.view().screen).toBe('confirm-sas');
    phone.lock();
  });
});
