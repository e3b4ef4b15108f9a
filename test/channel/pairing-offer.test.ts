import { describe, expect, it } from 'vitest';
import QRCode from 'qrcode';
import { decodeBase64Url, encodeBase64Url } from '../../src/channel/base64url.ts';
import { ChannelError } from '../../src/channel/channel-error.ts';
import { PAIRING_KINDS, PAIRING_OFFER_VERSION, createPairingOffer, decodePairingLink, encodePairingLink, relayChannelName } from '../../src/channel/pairing-offer.ts';

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);
const APP = 'https://duet-phone.example.com/';
const RELAY = 'wss://relay.duet-wallet.example/ws';

function expectChannelError(action: () => unknown, code: string): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ChannelError);
    expect((error as ChannelError).code).toBe(code);
    return;
  }
  throw new Error('expected a ChannelError');
}

describe('pairing offer', () => {
  it('round-trips through the link and keeps the data in the fragment', () => {
    const { offer } = createPairingOffer(RELAY, NOW);
    const link = encodePairingLink(offer, APP);
    expect(link.startsWith(`${APP}#p=`)).toBe(true);
    expect(new URL(link).search).toBe('');
    const decoded = decodePairingLink(link, NOW + 1000);
    expect(decoded).toEqual(offer);
    expect(relayChannelName(decoded)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(offer.expiresAt - NOW).toBeLessThanOrEqual(5 * 60_000);
  });

  it('fits a QR code of version ≤ 10 at error correction M', () => {
    const { offer } = createPairingOffer(RELAY, NOW);
    const link = encodePairingLink(offer, APP);
    const qr = QRCode.create(link, { errorCorrectionLevel: 'M' });
    expect(qr.version).toBeLessThanOrEqual(10);
  });

  it('refuses an expired offer', () => {
    const { offer } = createPairingOffer(RELAY, NOW);
    expectChannelError(() => decodePairingLink(encodePairingLink(offer, APP), NOW + 5 * 60_000 + 1), 'expired_offer');
  });

  it('refuses malformed offers', () => {
    const { offer } = createPairingOffer(RELAY, NOW);
    const link = encodePairingLink(offer, APP);
    expectChannelError(() => decodePairingLink(APP, NOW), 'malformed_offer');
    expectChannelError(() => decodePairingLink(`${APP}#p=!!!`, NOW), 'malformed_offer');
    expectChannelError(() => decodePairingLink(link.slice(0, 60), NOW), 'malformed_offer');
    const bytes = new Uint8Array(60);
    bytes[0] = 9;
    expectChannelError(() => decodePairingLink(`${APP}#p=${encodeBase64Url(bytes)}`, NOW), 'unsupported_version');
    expect(() => createPairingOffer('https://not-a-websocket.example', NOW)).toThrowError(ChannelError);
    expect(() => createPairingOffer(RELAY, NOW, 10 * 60_000)).toThrowError(RangeError);
  });

  it('carries its kind: new wallet by default, add member and recover when asked', () => {
    expect(decodePairingLink(encodePairingLink(createPairingOffer(RELAY, NOW).offer, APP), NOW).kind).toBe('new-wallet');
    for (const kind of PAIRING_KINDS) {
      const { offer } = createPairingOffer(RELAY, NOW, undefined, kind);
      expect(decodePairingLink(encodePairingLink(offer, APP), NOW)).toEqual({ ...offer, kind });
    }
  });

  it('refuses an unknown kind and a link of the version before kinds existed', () => {
    const { offer } = createPairingOffer(RELAY, NOW);
    const bytes = decodeBase64Url((encodePairingLink(offer, APP).split('#p=')[1] as string)) as Uint8Array;
    const unknownKind = bytes.slice();
    unknownKind[1] = 9;
    expectChannelError(() => decodePairingLink(`${APP}#p=${encodeBase64Url(unknownKind)}`, NOW), 'malformed_offer');
    const versionOne = bytes.slice();
    versionOne[0] = PAIRING_OFFER_VERSION - 1;
    expectChannelError(() => decodePairingLink(`${APP}#p=${encodeBase64Url(versionOne)}`, NOW), 'unsupported_version');
  });

  it('links only to an https phone app, except on loopback', () => {
    const { offer } = createPairingOffer(RELAY, NOW);
    expectChannelError(() => encodePairingLink(offer, 'http://duet-phone.example.com/'), 'malformed_offer');
    expectChannelError(() => encodePairingLink(offer, 'http://192.168.1.20:8787/'), 'malformed_offer');
    expectChannelError(() => encodePairingLink(offer, 'not a url'), 'malformed_offer');
    for (const app of ['http://localhost:8787/', 'http://127.0.0.1:8787/', 'http://[::1]:8787/', APP]) expect(encodePairingLink(offer, app).startsWith(app)).toBe(true);
  });
});
