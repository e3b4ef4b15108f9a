/**
 * The two real apps linked through a real relay in Node: the extension's production PhoneLink
 * (src/background/phone-link.ts, vault records in memory) and the phone's PhoneController
 * (fake-indexeddb), paired with SAS confirmation on both sides and a real key generation.
 */
import 'fake-indexeddb/auto';
import { WebSocket } from 'ws';
import type { MemberSecrets, PhoneLink, PhoneLinkContext } from '../../src/background/pairing.ts';
import { relayPhoneLinks } from '../../src/background/phone-link.ts';
import type { DirectSettings } from '../../src/channel/direct-path.ts';
import type { WebSocketConstructor } from '../../src/channel/relay-client.ts';
import type { RtcSessionFactory } from '../../src/channel/rtc-session.ts';
import type { PhoneController, PhoneControllerOptions } from '../../src/phone/phone-controller.ts';
import { newSigningRequestId, type SigningRequest } from '../../src/wallet/signing-request.ts';
import { unlockedPhone } from '../phone/phone-support.ts';
import { waitFor } from '../relay/relay-support.ts';

/** The one channel record of a device with one other member (its state and the relay client's). */
export function onlyLink(records: Map<string, string> | string[]): string {
  const keys = Array.isArray(records) ? records : [...records.keys()];
  const links = keys.filter((key) => key.startsWith('link/'));
  if (links.length !== 1) throw new Error(`expected one channel record, found ${links.length}`);
  return links[0] as string;
}

export class MemorySecrets implements MemberSecrets {
  readonly records = new Map<string, string>();

  async get<T>(key: string): Promise<T | undefined> {
    const raw = this.records.get(key);
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  async putMany(records: Record<string, unknown>): Promise<void> {
    for (const [key, value] of Object.entries(records)) this.records.set(key, JSON.stringify(value));
  }

  async delete(key: string): Promise<void> {
    this.records.delete(key);
  }

  async replace(records: Record<string, unknown>, deletes: readonly string[]): Promise<void> {
    for (const key of deletes) this.records.delete(key);
    await this.putMany(records);
  }

  async keys(): Promise<string[]> {
    return [...this.records.keys()].sort();
  }
}

export interface LinkedApps {
  readonly secrets: MemorySecrets;
  /** The running extension link (replaced by restartExtension, as a service-worker restart does). */
  link: PhoneLink;
  phone: PhoneController;
  restartExtension(): PhoneLink;
  close(): void;
}

/**
 * `direct`: WebRTC for both devices (memory-rtc.ts in Node) and the extension's direct-path settings;
 * `phoneOptions`: the phone's (its Paillier keys, for tests that reshare: a modulus is accepted once).
 */
export async function linkApps(relayWsUrl: string, direct?: { readonly rtc: RtcSessionFactory; readonly settings?: () => DirectSettings }, phoneOptions: Partial<PhoneControllerOptions> = {}): Promise<LinkedApps> {
  (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
  const secrets = new MemorySecrets();
  const context: PhoneLinkContext = {
    secrets,
    relayUrl: relayWsUrl,
    phoneAppUrl: 'https://duet.example/',
    now: () => Date.now(),
    completePairing: (_result, records) => secrets.putMany(records),
    seen: () => undefined,
    ...(direct?.settings ? { directPath: direct.settings } : {}),
  };
  const newLink = () => relayPhoneLinks(WebSocket as unknown as WebSocketConstructor, direct?.rtc)(context);
  const apps: LinkedApps = {
    secrets,
    link: newLink(),
    // A fresh phone (storage wiped), its vault keyed by TEST_PASSPHRASE and open.
    phone: await unlockedPhone({ ...(direct ? { rtc: direct.rtc } : {}), ...phoneOptions }),
    restartExtension: () => {
      apps.link.close();
      apps.link = newLink();
      return apps.link;
    },
    close: () => {
      apps.link.close();
      if (apps.phone.unlocked) apps.phone.lock();
    },
  };
  await apps.link.pairing.start();
  await apps.phone.pair(apps.link.pairing.progress().link as string);
  await waitFor(() => apps.link.pairing.progress().phase === 'confirm-sas' && apps.phone.view().screen === 'confirm-sas');
  apps.link.pairing.confirmSas(true);
  apps.phone.confirmSas(true);
  await waitFor(() => secrets.records.has('walletShare') && apps.phone.view().members.length > 0, 90_000);
  return apps;
}

export function personalSign(address: string, text: string): SigningRequest {
  const message = `0x${Buffer.from(text).toString('hex')}`;
  return { kind: 'personal_sign', id: newSigningRequestId(), origin: 'https://dapp.example', chainId: 31337, account: { index: 0, address }, createdAt: Date.now(), message };
}

/** The extension asks, the phone's user approves, the extension gets the signature. */
export async function coSign(apps: LinkedApps, text: string): Promise<void> {
  const request = personalSign(apps.phone.view().address as string, text);
  const signature = apps.link.coSigner.sign(request, new AbortController().signal);
  await waitFor(() => apps.phone.view().requests.some((r) => r.request.id === request.id), 30_000);
  apps.phone.approve(request.id);
  await signature;
}
