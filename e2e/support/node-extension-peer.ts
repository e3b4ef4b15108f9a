/**
 * The extension's side of the phone protocol run in Node (real relay client, real channel, real
 * P2 code), for phone tests in browsers that cannot load the extension. `tamper` rewrites what it
 * sends, to play a compromised extension.
 */
import { WebSocket } from 'ws';
import { generateIdentity } from '../../src/channel/handshake.ts';
import { createPairingOffer, encodePairingLink, type PairingKind } from '../../src/channel/pairing-offer.ts';
import { PeerLink } from '../../src/channel/peer-link.ts';
import type { WebSocketConstructor } from '../../src/channel/relay-client.ts';
import type { SecureChannel } from '../../src/channel/secure-channel.ts';
import { accountAddress } from '../../src/mpc/derivation.ts';
import type { P2KeyShare } from '../../src/mpc/key-share.ts';
import { ExtensionCoSigner, firstPairShare } from '../../src/session/extension-cosigner.ts';
import type { AppMessage } from '../../src/session/messages.ts';
import { newSigningRequestId, type SigningRequest } from '../../src/wallet/signing-request.ts';

export interface NodeExtensionPeer {
  /** The pairing link to open on the phone. */
  readonly link: string;
  readonly cosigner: ExtensionCoSigner;
  readonly channel: SecureChannel;
  /** The SAS once the phone answered the offer, else ''. */
  sas(): string;
  /** The key share once key generation finished. */
  share(): P2KeyShare;
  close(): void;
}

export async function startNodeExtensionPeer(relayWsUrl: string, phoneAppUrl: string, tamper: (message: AppMessage) => AppMessage = (message) => message, kind: PairingKind = 'new-wallet'): Promise<NodeExtensionPeer> {
  const { offer, ephemeralSecret } = createPairingOffer(relayWsUrl, Date.now(), undefined, kind);
  // The same link the extension uses; its state is kept in memory only.
  const identity = generateIdentity();
  const link = PeerLink.pairing({ role: 'extension', identity, write: async () => undefined, WebSocket: WebSocket as unknown as WebSocketConstructor }, offer, relayWsUrl);
  const channel = link.channel;
  channel.awaitPhone(offer, ephemeralSecret);
  await link.connect();
  // It signs as member 2 of the new wallet, with the pair's view (the key id the phone binds).
  const cosigner = new ExtensionCoSigner({ send: (message) => channel.send(tamper(message)), onKeyShare: async (share) => firstPairShare(share, { phone: channel.peerIdentity as Uint8Array, extension: identity.publicKey }) });
  channel.onEarlyMessage((message) => void cosigner.handleEarly(message));
  channel.onMessage((message) => void cosigner.handle(message));
  let sas = '';
  channel.onEvent((event) => {
    if (event.kind === 'sas') sas = event.sas;
  });
  return {
    link: encodePairingLink(offer, phoneAppUrl),
    cosigner,
    channel,
    sas: () => sas,
    share: () => {
      if (!cosigner.share) throw new Error('key generation has not finished');
      return cosigner.share;
    },
    close: () => link.close(),
  };
}

/** Account 0 of the peer's key. */
export function peerAddress(peer: NodeExtensionPeer): string {
  const share = peer.share();
  return accountAddress(share.publicKey, share.chainCode, 0);
}

export function personalSignRequest(address: string, hexMessage: string): SigningRequest {
  return { kind: 'personal_sign', id: newSigningRequestId(), origin: 'https://dapp.example', chainId: 31337, account: { index: 0, address }, createdAt: Date.now(), message: hexMessage };
}
