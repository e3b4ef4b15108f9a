/**
 * A phone that holds a wallet and is shown another pairing link (issue 11, point 1): it never
 * replaces its key share, keeps serving the wallet it holds, refuses to join another wallet, and
 * takes a recover link (a new browser of its own wallet) only as far as the code. Real relay on loopback, real key generation.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { PhoneController } from '../../src/phone/phone-controller.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { newSigningRequestId, type PersonalSignRequest } from '../../src/wallet/signing-request.ts';
import { waitFor } from '../relay/relay-support.ts';
import { extensionOffering, pairPhone, type ExtensionPeer } from './extension-peer.ts';
import { rawVault, unlockedPhone } from './phone-support.ts';

/** What a pairing could change (the live channel rewrites its own state as it runs). */
async function walletRecords() {
  const { meta, records } = await rawVault();
  return { meta, walletShare: records?.walletShare, identity: records?.identity, usedOffers: records?.usedOffers };
}

let relay: RunningRelay;
let phone: PhoneController;
let wallet: Awaited<ReturnType<typeof pairPhone>>;
const others: ExtensionPeer[] = [];

beforeAll(async () => {
  (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
  relay = await startRelay({ port: 0, staticDir: null, log: () => undefined });
  phone = await unlockedPhone();
  wallet = await pairPhone(relay.wsUrl, phone);
});

afterAll(async () => {
  if (phone.unlocked) phone.lock();
  for (const peer of [wallet, ...others]) peer.peerLink.close();
  await relay.close();
});

async function offering(kind?: Parameters<typeof extensionOffering>[1]): Promise<ExtensionPeer> {
  const peer = await extensionOffering(relay.wsUrl, kind);
  others.push(peer);
  return peer;
}

/** The wallet still signs: a personal_sign from the paired extension, approved on the phone. */
async function stillSigns(): Promise<void> {
  const request: PersonalSignRequest = { id: newSigningRequestId(), kind: 'personal_sign', origin: 'https://dapp.example', chainId: 1, account: { index: 0, address: phone.view().address as string }, createdAt: Date.now(), message: '0x6869' };
  const signing = wallet.cosigner.requestSignature(request);
  await waitFor(() => phone.view().requests.some((r) => r.request.id === request.id));
  phone.approve(request.id);
  await expect(signing).resolves.toMatchObject({ r: expect.any(BigInt) });
}

describe('a phone that holds a wallet, shown another pairing link', () => {
  it('refuses a new-wallet link: same share, same connection, the offer not even marked used', async () => {
    const address = phone.view().address;
    const before = await walletRecords();
    const other = await offering();
    await phone.pair(other.link);
    expect(phone.view()).toMatchObject({ screen: 'home', address, online: true });
    expect(phone.view().error).toContain('already co-signs the wallet');
    expect(other.channel.currentPhase).not.toBe('awaiting-sas');
    expect(await walletRecords()).toEqual(before);
    await stillSigns();
  });

  it('refuses an add-member link (a phone is a member of one wallet), changing nothing', async () => {
    const before = await walletRecords();
    await phone.pair((await offering('add-member')).link);
    expect(phone.view().error).toContain('already a member of the wallet');
    expect(phone.view()).toMatchObject({ screen: 'home', online: true });
    expect(await walletRecords()).toEqual({ ...before });
    await stillSigns();
  });

  it('takes a recover link (a new browser recovering this wallet) to the code, and "No" there changes nothing', async () => {
    const before = await walletRecords();
    const other = await offering('recover');
    await phone.pair(other.link);
    await waitFor(() => phone.view().screen === 'confirm-sas');
    phone.confirmSas(false);
    expect(phone.view()).toMatchObject({ screen: 'home', online: true });
    expect((await walletRecords()).walletShare).toEqual(before.walletShare);
    await stillSigns();
  });

  it('"No" at the codes stops only that pairing; after unpairing (explicit) a new wallet can be paired', async () => {
    await phone.unpair();
    expect(phone.view()).toMatchObject({ screen: 'home', address: null, members: [] });
    const other = await offering();
    await phone.pair(other.link);
    await waitFor(() => phone.view().screen === 'confirm-sas');
    phone.confirmSas(false);
    expect(phone.view()).toMatchObject({ screen: 'home', address: null });
    expect(phone.view().error).toContain('pairing stopped');
    expect((await rawVault()).records).not.toHaveProperty('walletShare');
    wallet = await pairPhone(relay.wsUrl, phone);
    await stillSigns();
  });
});
