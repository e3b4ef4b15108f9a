/**
 * The two real apps (the extension's PhoneLink, the phone's PhoneController) over a real relay,
 * one pairing through the file:
 * - forward secrecy that runs: every key either device has stored is captured (as malware reading
 *   an unlocked vault would), the extension's service worker restarts, and a request is
 *   co-signed: no frame the relay carried after the restart opens under any captured key;
 * - after a relay restart, whoever knows the paired channel's name and public keys (the relay's
 *   operator) cannot take it, and the apps reconnect;
 * - the phone locked right after a co-signing keeps the request as signed (the apps store the
 *   steps of a signing once the link is quiet, a settled request at once): unlocked, it co-signs
 *   the next request instead of signing the old one again with nobody waiting;
 * - unpairing (on either device) retires the channel: the other device says why, and nobody can
 *   reconnect.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PHONE_VAULT } from '../../src/phone/phone-controller.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { UnlockedVault, unlockVault } from '../../src/vault/vault.ts';
import { ed25519 } from '@noble/curves/ed25519.js';
import { decodeRelayCredential, type RelayCredentialJson } from '../../src/channel/relay-credential.ts';
import { CloseCode } from '../../src/channel/relay-protocol.ts';
import { RelayClient } from '../../src/channel/relay-client.ts';
import { rawWebSocket } from '../relay/raw-websocket.ts';
import { helloFor, NodeWebSocket, sleep, waitFor } from '../relay/relay-support.ts';
import { FAST_KEYS, openPhone, TEST_PASSPHRASE } from '../phone/phone-support.ts';
import { coSign, linkApps, onlyLink, personalSign, type LinkedApps } from './app-link.ts';
import type { LinkState } from '../../src/channel/stored-link-state.ts';
import { keysIn, openedBy } from './frame-keys.ts';

let relay: RunningRelay;
let apps: LinkedApps;
const routed: Uint8Array[] = [];
/** A phone's vault write that takes this long (a slow or busy device). */
const SLOW_WRITE_MS = 100;
const relayOptions = { staticDir: null, log: () => undefined, drainTimeoutMs: 200, onRoutedFrame: (_channel: string, _from: string, payload: Uint8Array) => routed.push(payload) };

beforeAll(async () => {
  relay = await startRelay({ port: 0, ...relayOptions });
  apps = await linkApps(relay.wsUrl);
});
afterAll(async () => {
  apps.close();
  await relay.close();
});

describe('forward secrecy between the apps', () => {
  it('keys captured from both devices open no frame sent after the next connection', async () => {
    await coSign(apps, 'before the capture');
    const vault = await unlockVault(PHONE_VAULT, TEST_PASSPHRASE, FAST_KEYS);
    const captured = [...keysIn((await apps.secrets.get<LinkState>(onlyLink(apps.secrets.records)))?.channel), ...keysIn((await vault.get<LinkState>(onlyLink(await vault.keys())))?.channel)];
    vault.lock();
    expect(captured.length).toBeGreaterThanOrEqual(4);
    // The captured keys do open what they protected.
    expect(openedBy(routed, captured).length).toBeGreaterThan(0);

    const mark = routed.length;
    apps.restartExtension();
    await waitFor(() => apps.link.coSigner.status().reachable, 15_000);
    await coSign(apps, 'after the restart');
    const after = routed.slice(mark);
    expect(after.length).toBeGreaterThan(4);
    expect(openedBy(after, captured).length).toBe(0);
  });

  it("after a relay restart, a squatter with the paired channel's name and public keys is refused; the apps reconnect and co-sign", async () => {
    const stored = ((await apps.secrets.get<LinkState>(onlyLink(apps.secrets.records))) as LinkState).relay;
    const known = decodeRelayCredential(stored.credential as RelayCredentialJson);
    expect(known).not.toBeNull();
    const port = relay.port;
    await relay.close();
    relay = await startRelay({ port, ...relayOptions });
    const refusals = await Promise.all(
      (['extension', 'phone'] as const).map(async (role) => {
        const squatter = await rawWebSocket({ port });
        while (squatter.texts.length === 0) await sleep(5);
        const nonce = new Uint8Array(Buffer.from(JSON.parse(squatter.texts[0] as string).nonce, 'base64url'));
        // The roster's public keys, but not the member's secret key.
        squatter.sendText(helloFor({ role, roster: known!.roster, secretKey: ed25519.utils.randomSecretKey() }, nonce, 0, ed25519.utils.randomSecretKey()));
        return squatter.closed;
      }),
    );
    expect(refusals).toEqual([CloseCode.unauthorized, CloseCode.unauthorized]);
    await waitFor(() => apps.link.coSigner.status().reachable && apps.phone.view().online, 20_000);
    await coSign(apps, 'after the relay restart');
  });

  it('the phone locked right after a co-signing, its storage slow: unlocked, it holds the request as signed and co-signs the next one', async () => {
    // The phone writes its channels and requests with `replace` (one transaction with the deletes).
    const replace = UnlockedVault.prototype.replace;
    const slow = vi.spyOn(UnlockedVault.prototype, 'replace').mockImplementation(function (this: UnlockedVault, records, deletes) {
      return new Promise<void>((resolve, reject) => setTimeout(() => replace.call(this, records, deletes).then(resolve, reject), SLOW_WRITE_MS));
    });
    const settled = apps.phone.view().history.length;
    await coSign(apps, 'then locked at once');
    await apps.phone.lock();
    slow.mockRestore();
    apps.phone = await openPhone();
    await apps.phone.unlock(TEST_PASSPHRASE);
    expect(apps.phone.view().history.length).toBe(settled + 1);
    expect(apps.phone.view().history[0]).toMatchObject({ outcome: 'signed' });
    expect(apps.phone.view().requests).toEqual([]);
    await coSign(apps, 'after the unlock');
  });

  it('unpairing on the phone retires the channel: the extension says why, and a request fails at once with that reason', async () => {
    const address = apps.phone.view().address as string;
    await apps.phone.unpair();
    await waitFor(() => /ended this pairing/.test(apps.link.coSigner.status().problem ?? ''), 10_000);
    await expect(apps.link.coSigner.sign(personalSign(address, 'after the unpairing'), new AbortController().signal)).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/ended this pairing/),
    });
  });

  it('unpairing in the extension retires the channel: the phone says why, and neither can reconnect', async () => {
    apps.close();
    apps = await linkApps(relay.wsUrl);
    const vault = await unlockVault(PHONE_VAULT, TEST_PASSPHRASE, FAST_KEYS);
    const phoneRelay = ((await vault.get<LinkState>(onlyLink(await vault.keys()))) as LinkState).relay;
    vault.lock();
    await apps.link.forget();
    await waitFor(() => /ended this pairing/.test(apps.phone.view().error ?? ''), 10_000);
    expect(apps.phone.view().online).toBe(false);
    // The phone's credentials open nothing any more, as the extension's would not.
    const again = new RelayClient({ relayUrl: relay.wsUrl, state: phoneRelay, WebSocket: NodeWebSocket });
    await expect(again.connect()).rejects.toThrow(/4010/);
  });
});
