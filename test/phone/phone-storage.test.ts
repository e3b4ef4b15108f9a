/**
 * The phone's storage at rest, through the real PhoneController: fake-indexeddb, a real relay on
 * loopback, and a real pairing and key generation with an extension-side peer. Proves that:
 * a) the raw IndexedDB (every store, every record) holds only the vault header and
 *    { iv, ciphertext } records, and none of the phone's secrets (x1, the Paillier primes, φ and λ,
 *    the identity key, the channel keys, the relay credential, the passphrase) in hex, decimal or base64(url);
 * b) a wrong passphrase writes nothing, and the right one shows the same address again;
 * c) one flipped ciphertext byte in the stored key share (the vault refuses it as 'corrupt'):
 *    unlocking with the right passphrase shows a clear message, stays locked, writes nothing and shows
 *    no address.
 */
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { decodeBase64Url } from '../../src/channel/base64url.ts';
import type { PeerLink } from '../../src/channel/peer-link.ts';
import type { RelayClientState } from '../../src/channel/relay-client.ts';
import type { SecureChannel } from '../../src/channel/secure-channel.ts';
import { bigIntToBytes, bigIntToMinimalBytes } from '../../src/mpc/bytes.ts';
import { G } from '../../src/mpc/curve.ts';
import { accountAddress } from '../../src/mpc/derivation.ts';
import { decodeWalletShare } from '../../src/mpc/wallet-share-codec.ts';
import { p1PairShare } from '../../src/mpc/wallet-share.ts';
import type { LinkState } from '../../src/channel/stored-link-state.ts';
import { gcd, hexFromBytes } from '../../src/mpc/wire.ts';
import type { P2KeyShare } from '../../src/mpc/key-share.ts';
import { PHONE_VAULT, type PhoneController } from '../../src/phone/phone-controller.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { VaultError, unlockVault } from '../../src/vault/vault.ts';
import { pairPhone } from './extension-peer.ts';
import { SHIPPED_KEYS, TEST_PASSPHRASE, openPhone, rawRecords, unlockedPhone } from './phone-support.ts';
import { writeRaw } from '../vault/raw-indexeddb.ts';

const PASSPHRASE = TEST_PASSPHRASE;

/** The whole database as text: byte arrays as hex and Latin-1, bigints in decimal and hex. */
async function dump(): Promise<string> {
  return JSON.stringify(await rawRecords(), (_key, value: unknown) => {
    if (value instanceof Uint8Array) return { hex: Buffer.from(value).toString('hex'), latin1: Buffer.from(value).toString('latin1') };
    if (typeof value === 'bigint') return [value.toString(10), value.toString(16)];
    return value;
  });
}

/** Waits until the controller's background writes are over; returns the database then. */
async function settled(): Promise<string> {
  let before = await dump();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = await dump();
    if (now === before) return now;
    before = now;
  }
}

const bytesEncodings = (bytes: Uint8Array) => {
  const buffer = Buffer.from(bytes);
  return [buffer.toString('hex'), buffer.toString('hex').toUpperCase(), buffer.toString('base64'), buffer.toString('base64url')];
};
const integerEncodings = (n: bigint, width?: number) => [n.toString(10), ...bytesEncodings(bigIntToMinimalBytes(n)), ...(width ? bytesEncodings(bigIntToBytes(n, width)) : [])];
const base64UrlSecret = (text: string) => [text, ...bytesEncodings(decodeBase64Url(text) as Uint8Array)];

let relay: RunningRelay;
let phone: PhoneController;
let extensionLink: PeerLink;
let extensionChannel: SecureChannel;
let extensionShare: P2KeyShare;

beforeAll(async () => {
  (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
  relay = await startRelay({ port: 0, staticDir: null, log: () => undefined });
  phone = await unlockedPhone({ deviceKey: null }, SHIPPED_KEYS);

  const peer = await pairPhone(relay.wsUrl, phone);
  extensionLink = peer.peerLink;
  extensionChannel = peer.channel;
  extensionShare = peer.share;
  await settled();
});

afterAll(async () => {
  if (phone.unlocked) phone.lock();
  extensionLink.close();
  await relay.close();
});

describe("the phone's storage at rest", () => {
  it('holds only the header and { iv, ciphertext } records, and no secret in any encoding', async () => {
    // The secrets, from what the vault decrypts; the extension's side of the pairing confirms they are the real ones.
    const vault = await unlockVault(PHONE_VAULT, PASSPHRASE);
    const walletShare = decodeWalletShare(await vault.get('walletShare'));
    const share = p1PairShare(walletShare, 2);
    const identity = (await vault.get<{ secretKey: string; publicKey: string }>('identity')) as { secretKey: string; publicKey: string };
    const link = (await vault.get<LinkState>(`link/${hexFromBytes(walletShare.wallet.members[1]!.identityKey)}`)) as LinkState;
    const session = link.channel.session;
    const relayState = link.relay as RelayClientState;
    vault.lock();
    expect(G.multiply(share.x1).equals(extensionShare.q1)).toBe(true);
    expect(share.paillier.publicKey.n).toBe(extensionShare.paillierN);
    expect(extensionChannel.save().pinnedPeer).toBe(identity.publicKey);
    expect(session).toBeTruthy();
    const secrets: Record<string, string[]> = {
      share: integerEncodings(walletShare.share, 32),
      x1: integerEncodings(share.x1, 32),
      paillierP: integerEncodings(share.paillier.p),
      paillierQ: integerEncodings(share.paillier.q),
      paillierPhi: integerEncodings(share.paillier.phi),
      paillierLambda: integerEncodings(share.paillier.phi / gcd(share.paillier.p - 1n, share.paillier.q - 1n)),
      identitySecretKey: base64UrlSecret(identity.secretKey),
      channelSendKey: base64UrlSecret(session?.session.sendKey as string),
      channelReceiveKey: base64UrlSecret(session?.session.receiveKey as string),
      relayCredential: base64UrlSecret(relayState.credential.secretKey),
      passphrase: [PASSPHRASE, ...bytesEncodings(new TextEncoder().encode(PASSPHRASE))],
    };

    const records = await rawRecords();
    expect([...new Set(records.map((r) => r.store))]).toEqual(['meta', 'records']);
    expect(records.filter((r) => r.store === 'meta')).toEqual([
      { store: 'meta', key: 'vault', value: { format: 2, kdf: { algorithm: 'scrypt', n: 2 ** 17, r: 8, p: 2, salt: expect.any(Uint8Array) }, cipher: 'AES-256-GCM', check: { iv: expect.any(Uint8Array), ciphertext: expect.any(Uint8Array) } } },
    ]);
    const stored = records.filter((r) => r.store === 'records');
    expect(stored.map((r) => r.key)).toEqual(expect.arrayContaining(['identity', 'walletShare', 'member/directory', expect.stringMatching(/^link\/[0-9a-f]{64}$/)]));
    for (const { value } of stored) expect(value).toEqual({ iv: expect.any(Uint8Array), ciphertext: expect.any(Uint8Array) });

    const raw = await dump();
    const found = Object.entries(secrets).flatMap(([name, encodings]) => [...new Set(encodings)].filter((encoding) => raw.includes(encoding)).map((encoding) => `${name} as ${encoding}`));
    expect(found).toEqual([]);
  });

  it('a wrong passphrase writes nothing; the right one shows the same address again', async () => {
    const address = phone.view().address;
    expect(address).toBe(accountAddress(extensionShare.publicKey, extensionShare.chainCode, 0));
    phone.lock();
    // As after the app was closed and opened again.
    phone = await openPhone({ deviceKey: null }, SHIPPED_KEYS);
    expect(phone.view()).toMatchObject({ screen: 'unlock', address: null });
    const before = await settled();
    await phone.unlock('violin orbit candle meadow fossil');
    expect(phone.view()).toMatchObject({ screen: 'unlock', error: 'Wrong passphrase.', address: null });
    expect(phone.unlocked).toBe(false);
    expect(await dump()).toBe(before);
    await phone.unlock(PASSPHRASE);
    expect(phone.view()).toMatchObject({ screen: 'home', error: null, address });
    await settled();
  });

  it('a flipped ciphertext byte in the key share: the right passphrase gives a clear message and stays locked, nothing written, no address', async () => {
    phone.lock();
    const keyShare = (await rawRecords()).find((r) => r.store === 'records' && r.key === 'walletShare')?.value as { iv: Uint8Array; ciphertext: Uint8Array };
    const ciphertext = keyShare.ciphertext.slice();
    const middle = ciphertext.length >> 1;
    ciphertext[middle] = (ciphertext[middle] as number) ^ 0x01;
    await writeRaw(indexedDB, PHONE_VAULT, 'records', 'walletShare', { iv: keyShare.iv, ciphertext });
    phone = await openPhone({ deviceKey: null }, SHIPPED_KEYS);
    const before = await dump();

    await phone.unlock(PASSPHRASE);
    expect(phone.view()).toMatchObject({ screen: 'unlock', address: null, error: "This phone's stored data is damaged and cannot be read. Unpair in the extension and pair again." });
    expect(phone.unlocked).toBe(false);
    expect(await dump()).toBe(before);
  });
});
