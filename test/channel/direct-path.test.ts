/**
 * The direct path between the two real apps (the extension's PhoneLink, the phone's
 * PhoneController) over a real relay, WebRTC stood in by memory-rtc.ts (Node has none; the real
 * thing runs in e2e/direct-path.spec.ts):
 * - once the path is open, a co-signing sends nothing through the relay;
 * - the relay stopped: co-signing still works; the path cut mid-signing: it completes through
 *   the relay; the phone reloaded or the extension's worker restarted: back on the direct path;
 * - turned off in the settings: everything through the relay; the ICE servers travel with the offer;
 *   a phone without WebRTC refuses the offer and the extension stops offering;
 * - signalling messages of the wrong shape are dropped.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DIRECT_SETTINGS, parsePathMessage, type DirectSettings } from '../../src/channel/direct-path.ts';
import { IceServerError, parseIceServerLines, parseIceServers } from '../../src/channel/ice-servers.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { openPhone, TEST_PASSPHRASE } from '../phone/phone-support.ts';
import { waitFor } from '../relay/relay-support.ts';
import { signatureMatchesAccount } from '../../src/session/extension-cosigner.ts';
import { coSign, linkApps, personalSign, type LinkedApps } from './app-link.ts';
import { MemoryRtcNetwork } from './memory-rtc.ts';

const SEALED = 5;
/** PathSwitch's DATA kind on a direct carrier. */
const DIRECT_DATA = 2;

let relay: RunningRelay;
const routed: Uint8Array[] = [];
const relayOptions = { staticDir: null, log: () => undefined, drainTimeoutMs: 200, onRoutedFrame: (_channel: string, _from: string, payload: Uint8Array) => routed.push(payload) };
let network: MemoryRtcNetwork;
let settings: DirectSettings;
let apps: LinkedApps;

const onPath = (path: 'direct' | 'relay') => apps.link.coSigner.status().path === path && apps.phone.view().path === path;

async function directApps(): Promise<void> {
  network = new MemoryRtcNetwork();
  settings = DEFAULT_DIRECT_SETTINGS;
  apps = await linkApps(relay.wsUrl, { rtc: network.factory, settings: () => settings });
  await waitFor(() => onPath('direct'), 15_000);
}

beforeAll(async () => {
  relay = await startRelay({ port: 0, ...relayOptions });
  await directApps();
});
afterAll(async () => {
  apps.close();
  await relay.close();
});

describe('co-signing over the direct path', () => {
  it('once the path is open, the relay carries nothing of a signing', async () => {
    const before = routed.length;
    const carried = network.carried.length;
    await coSign(apps, 'direct');
    expect(routed.slice(before)).toEqual([]);
    expect(network.carried.length - carried).toBeGreaterThan(6);
    expect(onPath('direct')).toBe(true);
  });

  it('the relay stopped after the path opened: co-signing still works, and the devices stay reachable', async () => {
    const port = relay.port;
    await relay.close();
    await waitFor(() => !apps.phone.view().online || apps.link.coSigner.status().reachable);
    expect(apps.link.coSigner.status().reachable).toBe(true);
    await coSign(apps, 'relay down');
    relay = await startRelay({ port, ...relayOptions });
    await waitFor(() => onPath('direct'), 15_000);
  });

  it("the path is cut in the middle of a signing (the extension's sign/2 lost on the way): it completes through the relay, once", async () => {
    const before = routed.length;
    let directData = 0;
    // The phone's sign/1 is the first DATA frame after the approval; the extension's sign/2 the second.
    network.cutWhen = (frame) => frame[0] === DIRECT_DATA && ++directData === 2;
    const approved = apps.phone.view().history.length;
    await coSign(apps, 'cut mid-signing');
    expect(routed.slice(before).filter((frame) => frame[0] === SEALED || frame[0] === 0x10).length).toBeGreaterThan(0);
    expect(apps.phone.view().history.slice(0, apps.phone.view().history.length - approved).map((entry) => entry.outcome)).toEqual(['signed']);
    // The extension offers again (after its backoff) and the path comes back.
    await waitFor(() => onPath('direct'), 15_000);
  });

  it('the phone reloaded: back on the direct path, and co-signing takes it', async () => {
    apps.phone.lock();
    await waitFor(() => apps.link.coSigner.status().path === 'relay');
    apps.phone = await openPhone({ rtc: network.factory });
    await apps.phone.unlock(TEST_PASSPHRASE);
    await waitFor(() => onPath('direct'), 15_000);
    const before = routed.length;
    await coSign(apps, 'after the reload');
    expect(routed.slice(before).filter((frame) => frame[0] === SEALED)).toEqual([]);
  });

  it("the extension's worker restarted: it offers again and the path is direct", async () => {
    apps.restartExtension();
    await waitFor(() => onPath('direct'), 15_000);
    await coSign(apps, 'after the worker restart');
  });

  it("the extension's worker stops in the middle of a signing on the direct path: asked again, the signing completes", async () => {
    for (const pause of [0, 1, 3]) {
      const request = personalSign(apps.phone.view().address as string, `worker stopped after ${pause} ms`);
      // The stopped worker's own wait ends with it (nothing answers it any more).
      void apps.link.coSigner.sign(request, new AbortController().signal).catch(() => undefined);
      await waitFor(() => apps.phone.view().requests.some((entry) => entry.request.id === request.id), 30_000);
      apps.phone.approve(request.id);
      await new Promise((resolve) => setTimeout(resolve, pause));
      apps.restartExtension();
      const signature = await apps.link.coSigner.sign(request, new AbortController().signal);
      expect(signatureMatchesAccount(request, signature)).toBe(true);
      expect(apps.phone.view().history[0]).toMatchObject({ id: request.id, outcome: 'signed' });
      await waitFor(() => onPath('direct'), 15_000);
    }
  });

  it('turned off in the settings: the path closes and everything goes through the relay; on again: direct', async () => {
    settings = { enabled: false, iceServers: [] };
    apps.link.directPathChanged?.();
    await waitFor(() => onPath('relay'));
    const before = routed.length;
    await coSign(apps, 'direct path off');
    expect(routed.slice(before).filter((frame) => frame[0] === SEALED).length).toBeGreaterThan(4);
    settings = { enabled: true, iceServers: [{ urls: 'stun:stun.example.org:3478' }] };
    apps.link.directPathChanged?.();
    await waitFor(() => onPath('direct'), 15_000);
    // The phone's session uses the ICE servers that came with the offer.
    expect(network.opened.slice(-2).map((options) => [options.role, options.iceServers])).toEqual([
      ['offer', [{ urls: 'stun:stun.example.org:3478' }]],
      ['answer', [{ urls: 'stun:stun.example.org:3478' }]],
    ]);
  });
});

describe('devices without a direct route', () => {
  afterEach(() => apps.close());

  it('a phone without WebRTC refuses the offer: the extension stops offering, and co-signing takes the relay', async () => {
    apps.close();
    network = new MemoryRtcNetwork();
    const extensionOnly = network.factory;
    apps = await linkApps(relay.wsUrl, { rtc: extensionOnly });
    // The phone of linkApps got the factory too: a phone without WebRTC is opened again without it.
    apps.phone.lock();
    apps.phone = await openPhone({});
    await apps.phone.unlock(TEST_PASSPHRASE);
    await waitFor(() => apps.phone.view().online && apps.link.coSigner.status().reachable, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const offers = network.opened.filter((options) => options.role === 'offer').length;
    // A failed attempt is retried after 1 s; a refused one is not.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(network.opened.filter((options) => options.role === 'offer').length).toBe(offers);
    expect(onPath('relay')).toBe(true);
    await coSign(apps, 'no WebRTC on the phone');
  });

  it('no route between the devices: every attempt fails quietly and co-signing takes the relay', async () => {
    apps.close();
    network = new MemoryRtcNetwork();
    network.blocked = true;
    apps = await linkApps(relay.wsUrl, { rtc: network.factory });
    await coSign(apps, 'blocked');
    expect(onPath('relay')).toBe(true);
  });
});

describe('signalling and settings input', () => {
  const id = 'AAAAAAAAAAAAAAAAAAAAAA';

  it('takes exactly the shapes of its messages', () => {
    expect(parsePathMessage({ t: 'offer', id, sdp: 'v=0', ice: [] })).toEqual({ t: 'offer', id, sdp: 'v=0', ice: [] });
    expect(parsePathMessage({ t: 'candidate', id, candidate: 'candidate:1', mid: '0', index: 0 })).not.toBeNull();
    expect(parsePathMessage({ t: 'close', id })).toEqual({ t: 'close', id });
  });

  it.each([
    ['an unknown type', { t: 'hello', id }],
    ['a short id', { t: 'close', id: 'abc' }],
    ['an extra field', { t: 'close', id, x: 1 }],
    ['an empty SDP', { t: 'answer', id, sdp: '' }],
    ['an SDP over 16 KiB', { t: 'answer', id, sdp: 'x'.repeat(16_385) }],
    ['a candidate index out of range', { t: 'candidate', id, candidate: 'candidate:1', mid: null, index: 999 }],
    ['an offer with an http ICE server', { t: 'offer', id, sdp: 'v=0', ice: [{ urls: 'http://evil.example' }] }],
    ['an offer with nine ICE servers', { t: 'offer', id, sdp: 'v=0', ice: Array.from({ length: 9 }, () => ({ urls: 'stun:a.example' })) }],
    ['an array', [{ t: 'close', id }]],
  ])('drops %s', (_name, message) => {
    expect(parsePathMessage(message)).toBeNull();
  });

  it('reads ICE servers one per line, and says what is wrong with a bad line', () => {
    expect(parseIceServerLines('\n stun:stun.example.org:3478 \nturn:turn.example.org:3478?transport=tcp alice s3cret\n')).toEqual([
      { urls: 'stun:stun.example.org:3478' },
      { urls: 'turn:turn.example.org:3478?transport=tcp', username: 'alice', credential: 's3cret' },
    ]);
    expect(() => parseIceServerLines('https://turn.example.org')).toThrow(new IceServerError('"https://turn.example.org" is not a stun:, turn: or turns: address.'));
    expect(() => parseIceServerLines('turn:turn.example.org')).toThrow(/give its username and credential/);
    expect(() => parseIceServerLines('stun:stun.example.org alice secret')).toThrow(/takes no username/);
    expect(() => parseIceServerLines('turns:turn.example.org alice')).toThrow(/username credential/);
    expect(() => parseIceServerLines(Array.from({ length: 9 }, () => 'stun:a.example').join('\n'))).toThrow(/At most 8/);
    expect(parseIceServers([{ urls: 'stun:a.example', credential: 'x' }])).toBeNull();
  });
});
