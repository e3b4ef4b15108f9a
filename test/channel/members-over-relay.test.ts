/**
 * The real apps as members of one wallet over a real relay in Node: the extension's member links
 * (src/background/phone-link.ts, vault records in memory) and phone apps (PhoneController, each
 * with its own fake-indexeddb vault). Through the file:
 * - adding phone B by an add-member code: the code of the pairing, then the code phone A (the
 *   other dealer) and B compare; every pair with the extension co-signs;
 * - removing phone A with the extension and B: A is told when it is online, deletes only after
 *   its user confirms, and its channels end once it sent its receipt; the removal is complete;
 * - the browser lost: a new browser recovers with phones B and C (B coordinates from its recover
 *   code, C compares a code with the new browser), gets the settings record, and co-signs;
 * - a browser and phone of the first version: their stored pair shares move to the {2,n} wallet at
 *   the next start, the phone sets up a fresh pair key, and they co-sign;
 * - the direct path per member (WebRTC stood in by memory-rtc.ts): every member's channel takes it,
 *   the browser's and the phones' member lists show each one's path, and the browser's settings
 *   turn it off and on again for every member at once.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { PhoneLink, PhoneLinkContext } from '../../src/background/pairing.ts';
import { relayPhoneLinks } from '../../src/background/phone-link.ts';
import { encodeBase64Url } from '../../src/channel/base64url.ts';
import { DEFAULT_DIRECT_SETTINGS, type DirectSettings } from '../../src/channel/direct-path.ts';
import type { WebSocketConstructor } from '../../src/channel/relay-client.ts';
import type { LinkState } from '../../src/channel/stored-link-state.ts';
import { G, modQ } from '../../src/mpc/curve.ts';
import { encodeP1KeyShare, encodeP2KeyShare } from '../../src/mpc/key-share-codec.ts';
import { KEY_SHARE_VERSION } from '../../src/mpc/key-share.ts';
import { decodeWalletShare } from '../../src/mpc/wallet-share-codec.ts';
import { memberId, publicShareOf, type WalletShare } from '../../src/mpc/wallet-share.ts';
import { hexFromBytes } from '../../src/mpc/wire.ts';
import type { PhoneController } from '../../src/phone/phone-controller.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import type { SettingsBody } from '../../src/session/settings-record.ts';
import { unlockVault } from '../../src/vault/vault.ts';
import { FixtureKeys } from '../mpc/wallet-driver.ts';
import { FAST_KEYS, openPhone, TEST_PASSPHRASE, unlockedPhone } from '../phone/phone-support.ts';
import { waitFor as waitForCondition } from '../relay/relay-support.ts';

/** waitFor that names what it waited for. */
async function waitFor(condition: () => boolean, timeoutMs?: number, what = condition.toString()): Promise<void> {
  await waitForCondition(condition, timeoutMs).catch(() => {
    throw new Error(`timed out waiting for: ${what}`);
  });
}
import { MemorySecrets, personalSign } from './app-link.ts';
import { MemoryRtcNetwork } from './memory-rtc.ts';

const keys = new FixtureKeys();
let relay: RunningRelay;

beforeAll(async () => {
  (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
  relay = await startRelay({ port: 0, staticDir: null, log: () => undefined });
});
afterAll(() => relay.close());

interface Browser {
  readonly secrets: MemorySecrets;
  link: PhoneLink;
  readonly joined: unknown[];
  readonly settings: SettingsBody[];
  restart(): void;
}

/** `direct`: WebRTC for the browser's member links, and its direct-path settings. */
function browser(direct?: { readonly rtc: MemoryRtcNetwork['factory']; readonly settings: () => DirectSettings }): Browser {
  const secrets = new MemorySecrets();
  const joined: unknown[] = [];
  const settings: SettingsBody[] = [];
  const context: PhoneLinkContext = {
    secrets,
    relayUrl: relay.wsUrl,
    phoneAppUrl: 'https://duet.example/',
    now: () => Date.now(),
    completePairing: (_result, records) => secrets.putMany(records),
    seen: () => undefined,
    joined: async (pairedKey) => void joined.push(pairedKey),
    settings: (body) => void settings.push(body),
    ...(direct ? { directPath: direct.settings } : {}),
  };
  const open = () => relayPhoneLinks(WebSocket as unknown as WebSocketConstructor, direct?.rtc)(context);
  const made: Browser = {
    secrets,
    link: open(),
    joined,
    settings,
    restart: () => {
      made.link.close();
      made.link = open();
    },
  };
  return made;
}

const phoneOptions = (vaultName: string, rtc?: MemoryRtcNetwork['factory']) => ({ vaultName, paillierKeys: async () => keys.take(), ...(rtc ? { rtc } : {}) });

async function phone(vaultName: string, rtc?: MemoryRtcNetwork['factory']): Promise<PhoneController> {
  return unlockedPhone(phoneOptions(vaultName, rtc));
}

/** The browser shows a code of `kind`, `device` opens it, both users confirm the code. */
async function pairBy(ext: Browser, device: PhoneController, kind: 'new-wallet' | 'add-member' | 'recover'): Promise<void> {
  await ext.link.pairing.start(kind);
  await device.pair(ext.link.pairing.progress().link as string);
  await waitFor(() => ext.link.pairing.progress().phase === 'confirm-sas' && device.view().screen === 'confirm-sas', 20_000);
  expect(device.view().sas).toBe(ext.link.pairing.progress().sas);
  ext.link.pairing.confirmSas(true);
  device.confirmSas(true);
}

/** A personal_sign by the browser with `via` (a member key), approved on `device`. */
async function coSignWith(ext: Browser, device: PhoneController, via: string | null): Promise<void> {
  const request = personalSign(device.view().address as string, `signed with ${via?.slice(0, 8) ?? 'the default'}`);
  const signing = ext.link.coSigner.sign(request, new AbortController().signal, via);
  await waitFor(() => device.view().requests.some((entry) => entry.request.id === request.id), 30_000);
  device.approve(request.id);
  await expect(signing).resolves.toMatchObject({ r: expect.any(BigInt) });
}

const keyOf = (device: PhoneController) => device.view().members.find((member) => member.self)?.key as string;
const extKey = (ext: Browser) => ext.link.members?.view()?.members.find((member) => member.self)?.key as string;

/** Answers the code comparison on the dealer and the newcomer (after checking both show the same code). */
async function compareCodes(dealer: { decisions(): Shown; decide(id: string, yes: boolean): void }, newcomer: typeof dealer): Promise<void> {
  await waitFor(() => dealer.decisions().some((d) => d.kind === 'candidate') && newcomer.decisions().some((d) => d.kind === 'dealer-code'), 30_000);
  const a = dealer.decisions().find((d) => d.kind === 'candidate')!;
  const b = newcomer.decisions().find((d) => d.kind === 'dealer-code')!;
  expect(a.sas).toMatch(/^\d{6}$/);
  expect(a.sas).toBe(b.sas);
  dealer.decide(a.id, true);
  newcomer.decide(b.id, true);
}

type Shown = readonly { id: string; kind: string; sas?: string }[];
const asDecider = (device: PhoneController) => ({ decisions: (): Shown => device.view().decisions, decide: (id: string, yes: boolean) => device.decide(id, yes) });
const extDecider = (ext: Browser) => ({
  decisions: (): Shown => ext.link.members?.view()?.decisions ?? ext.link.members?.joiningView()?.decisions ?? [],
  decide: (id: string, yes: boolean) => ext.link.members?.decide(id, yes),
});

describe('the apps as members of one wallet', () => {
  let ext: Browser;
  let phoneA: PhoneController;
  let phoneB: PhoneController;
  let phoneC: PhoneController;
  let address: string;

  it('adds phone B: both codes compared, three members, every pair with the browser co-signs, same address', async () => {
    ext = browser();
    phoneA = await phone('phone-a');
    await pairBy(ext, phoneA, 'new-wallet');
    await waitFor(() => ext.link.members?.view() !== null && phoneA.view().address !== null, 60_000);
    address = phoneA.view().address as string;
    await coSignWith(ext, phoneA, null);

    phoneB = await phone('phone-b');
    await pairBy(ext, phoneB, 'add-member');
    await compareCodes(asDecider(phoneA), asDecider(phoneB));
    await waitFor(() => ext.link.members?.view()?.epoch === 1 && phoneA.view().epoch === 1 && phoneB.view().epoch === 1, 90_000);
    expect(phoneB.view().address).toBe(address);
    expect(ext.link.members?.view()?.members.map((member) => member.role).sort()).toEqual(['extension', 'phone', 'phone']);
    await waitFor(() => ext.link.members?.view()?.members.filter((member) => member.coSigns).length === 2, 30_000);
    await coSignWith(ext, phoneA, keyOf(phoneA));
    await coSignWith(ext, phoneB, keyOf(phoneB));
    // The phones see each other, by name, with a channel of their own.
    expect(phoneB.view().members.map((member) => member.role).sort()).toEqual(['extension', 'phone', 'phone']);
  });

  it('removes phone A with the browser and phone B: blocked at once, complete on every receipt; A deletes after its user confirms', async () => {
    const keyA = keyOf(phoneA);
    await ext.link.members?.remove(keyA, keyOf(phoneB));
    await waitFor(() => phoneB.view().decisions.some((decision) => decision.kind === 'reshare'), 30_000);
    expect(ext.link.members?.view()?.members.find((member) => member.key === keyA)?.blocked).toBe(true);
    const decision = phoneB.view().decisions.find((entry) => entry.kind === 'reshare')!;
    phoneB.decide(decision.id, true);
    await waitFor(() => ext.link.members?.view()?.epoch === 2 && phoneB.view().epoch === 2, 90_000);
    await waitFor(() => ext.link.members?.view()?.last?.complete === true, 30_000);
    expect(ext.link.members?.view()?.last?.removed).toEqual(['Phone']);
    // A was online: it got the notice, no longer signs, and deletes only after its user says so.
    await waitFor(() => phoneA.view().screen === 'removed' && phoneA.view().decisions.some((entry) => entry.kind === 'removed'), 30_000);
    expect(phoneA.view().address).toBeNull();
    const removal = phoneA.view().decisions.find((entry) => entry.kind === 'removed')!;
    phoneA.decide(removal.id, true);
    await waitFor(() => phoneA.view().decisions.length === 0, 10_000);
    await waitFor(() => ext.link.members?.view()?.members.length === 2, 10_000);
    await coSignWith(ext, phoneB, null);
    expect(phoneB.view().address).toBe(address);
  });

  it('the browser is lost: a new one recovers with phones B and C, gets the settings record, and co-signs; same address', async () => {
    phoneC = await phone('phone-c');
    await pairBy(ext, phoneC, 'add-member');
    await compareCodes(asDecider(phoneB), asDecider(phoneC));
    await waitFor(() => phoneC.view().epoch === 3 && phoneB.view().epoch === 3, 90_000);
    ext.link.members?.shareSettings({ accounts: [{ index: 0, name: 'Savings' }, { index: 1, name: 'Daily' }], networks: [], activeChainId: 31337 });
    const lostKey = extKey(ext);
    // The phones keep the record (it travels like any message; a second is plenty on loopback).
    await new Promise((resolve) => setTimeout(resolve, 1000));
    ext.link.close();

    const fresh = browser();
    await pairBy(fresh, phoneB, 'recover');
    await waitFor(() => phoneB.view().screen === 'recovering', 20_000);
    await phoneB.startRecovery({ remove: [lostKey], dealer: keyOf(phoneC) });
    await compareCodes(asDecider(phoneC), extDecider(fresh));
    await waitFor(() => fresh.joined.length === 1 && phoneB.view().epoch === 4 && phoneC.view().epoch === 4, 90_000);
    await waitFor(() => fresh.settings.length > 0, 20_000);
    expect(fresh.settings[0]?.accounts.map((account) => account.name)).toEqual(['Savings', 'Daily']);
    expect(phoneB.view().members.map((member) => member.key)).not.toContain(lostKey);
    await waitFor(() => fresh.link.members?.view()?.members.filter((member) => member.coSigns).length === 2, 30_000);
    await coSignWith(fresh, phoneC, keyOf(phoneC));
    expect(phoneC.view().address).toBe(address);
    fresh.link.close();
    for (const device of [phoneA, phoneB, phoneC]) if (device.unlocked) device.lock();
  });
});

describe('devices of the first version', () => {
  it('move their pair shares to the {2,n} wallet at the next start, set up a fresh pair key, and co-sign', async () => {
    const ext = browser();
    let phoneA = await phone('phone-old');
    await pairBy(ext, phoneA, 'new-wallet');
    await waitFor(() => ext.link.members?.view() !== null && phoneA.view().address !== null, 60_000);
    const address = phoneA.view().address as string;
    phoneA.lock();
    ext.link.close();

    // Both devices' records as the first version stored them: the pair's additive shares and one
    // channel (with its direct-path state, as the single-phone version with the direct path kept it).
    const extShare = decodeWalletShare(await ext.secrets.get('walletShare'));
    const phoneKey = hexFromBytes(extShare.wallet.members.find((member) => member.role === 'phone')!.identityKey);
    const extLink = (await ext.secrets.get<LinkState>(`link/${phoneKey}`)) as LinkState;
    const pair = extShare.pairs[0]!;
    if (pair.role !== 'P2') throw new Error('the browser is P2');
    await ext.secrets.replace(
      { keyShare: encodeP2KeyShare({ version: KEY_SHARE_VERSION, keyId: extShare.wallet.walletId, publicKey: extShare.wallet.publicKey, chainCode: extShare.wallet.chainCode, x2: modQ(-extShare.share), q1: publicShareOf(extShare.wallet, 1).multiply(2n), paillierN: pair.paillierN, ckey: pair.ckey, epoch: 0 }), channel: extLink.channel, relay: extLink.relay, path: extLink.path },
      (await ext.secrets.keys()).filter((key) => key === 'walletShare' || key.startsWith('member/') || key.startsWith('link/')),
    );
    const vault = await unlockVault('phone-old', TEST_PASSPHRASE, FAST_KEYS);
    const phoneShare: WalletShare = decodeWalletShare(await vault.get('walletShare'));
    const extensionKey = hexFromBytes(phoneShare.wallet.members.find((member) => member.role === 'extension')!.identityKey);
    const phoneLink = (await vault.get<LinkState>(`link/${extensionKey}`)) as LinkState;
    const phonePair = phoneShare.pairs[0]!;
    if (phonePair.role !== 'P1') throw new Error('the phone is P1');
    const extIdentity = phoneShare.wallet.members.find((member) => member.role === 'extension')!.identityKey;
    await vault.replace(
      {
        keyShare: encodeP1KeyShare({ version: KEY_SHARE_VERSION, keyId: phoneShare.wallet.walletId, publicKey: phoneShare.wallet.publicKey, chainCode: phoneShare.wallet.chainCode, x1: modQ(2n * phoneShare.share), q2: publicShareOf(phoneShare.wallet, 2).negate(), paillier: phonePair.paillier, epoch: 0, counterpart: encodeBase64Url(extIdentity), taints: [] }),
        channel: phoneLink.channel,
        relay: phoneLink.relay,
        path: phoneLink.path,
        extension: { name: 'My laptop', pairedAt: 1, lastSeen: 1 },
      },
      (await vault.keys()).filter((key) => key === 'walletShare' || key.startsWith('member/') || key.startsWith('link/')),
    );
    vault.lock();
    expect(G.multiply(modQ(2n * phoneShare.share)).add(publicShareOf(phoneShare.wallet, 2).negate()).equals(phoneShare.wallet.publicKey)).toBe(true);

    // The next start: both move their records, the phone sets up a new pair key, and they co-sign.
    ext.restart();
    phoneA = await openPhone(phoneOptions('phone-old'));
    await phoneA.unlock(TEST_PASSPHRASE);
    expect(phoneA.view()).toMatchObject({ screen: 'home', address });
    expect(phoneA.view().members.find((member) => member.role === 'extension')?.name).toBe('My laptop');
    expect(await ext.secrets.get('keyShare')).toBeUndefined();
    expect(await ext.secrets.get('path')).toBeUndefined();
    expect((await ext.secrets.get<LinkState>(`link/${phoneKey}`))?.path).toBeDefined();
    await waitFor(() => ext.link.members?.view()?.members.some((member) => member.coSigns) === true, 30_000);
    const migrated = decodeWalletShare(await ext.secrets.get('walletShare'));
    expect(migrated.pairs[0]?.role === 'P2' && migrated.pairs[0].paillierN).not.toBe(pair.paillierN);
    expect(migrated.acceptedModuli).toHaveLength(2);
    await coSignWith(ext, phoneA, null);
    expect(memberId(migrated.wallet.members[0]!)).toBe(keyOf(phoneA));
    ext.link.close();
    phoneA.lock();
  });
});

describe('the direct path per member', () => {
  it("every member's channel takes it, each member list shows each path, and the browser's settings turn it off and on for all", async () => {
    const network = new MemoryRtcNetwork();
    let settings = DEFAULT_DIRECT_SETTINGS;
    const ext = browser({ rtc: network.factory, settings: () => settings });
    const phoneA = await phone('phone-direct-a', network.factory);
    await pairBy(ext, phoneA, 'new-wallet');
    await waitFor(() => ext.link.members?.view() !== null && phoneA.view().address !== null, 60_000);
    const phoneB = await phone('phone-direct-b', network.factory);
    await pairBy(ext, phoneB, 'add-member');
    await compareCodes(asDecider(phoneA), asDecider(phoneB));
    await waitFor(() => ext.link.members?.view()?.epoch === 1 && phoneA.view().epoch === 1 && phoneB.view().epoch === 1, 90_000);
    const paths = () =>
      Object.fromEntries([
        ...(ext.link.members?.view()?.members.filter((member) => !member.self).map((member) => [`browser→${member.key.slice(0, 8)}`, member.online ? member.path : 'offline']) ?? []),
        ...[phoneA, phoneB].flatMap((device) => device.view().members.filter((member) => !member.self).map((member) => [`${keyOf(device).slice(0, 8)}→${member.key.slice(0, 8)}`, member.online ? member.path : 'offline'])),
      ]);
    const all = (path: 'direct' | 'relay') => Object.values(paths()).length === 6 && Object.values(paths()).every((value) => value === path);
    // Browser–A, browser–B and A–B: each channel opened its own direct path.
    await waitFor(() => all('direct'), 30_000, 'every member on the direct path');
    expect(phoneA.view().path).toBe('direct');
    await waitFor(() => ext.link.members?.view()?.members.filter((member) => member.coSigns).length === 2, 30_000);
    await coSignWith(ext, phoneB, keyOf(phoneB));

    // Off in the browser's settings: its channels go back to the relay; the phones' own channel stays direct.
    settings = { enabled: false, iceServers: [] };
    ext.link.directPathChanged?.();
    await waitFor(() => ext.link.members?.view()?.members.filter((member) => !member.self).every((member) => member.online && member.path === 'relay') === true, 30_000, 'the browser on the relay with every member');
    expect(ext.link.coSigner.status(keyOf(phoneA)).path).toBe('relay');
    await coSignWith(ext, phoneA, keyOf(phoneA));
    settings = DEFAULT_DIRECT_SETTINGS;
    ext.link.directPathChanged?.();
    await waitFor(() => all('direct'), 30_000, 'every member on the direct path again');
    ext.link.close();
    phoneA.lock();
    phoneB.lock();
  });
});
