/**
 * The extension's side of a pairing with a real PhoneController, in Node: the extension's PeerLink
 * (its state kept in memory only) and an ExtensionCoSigner, over a real relay on loopback.
 */
import { WebSocket } from 'ws';
import { generateIdentity } from '../../src/channel/handshake.ts';
import { createPairingOffer, encodePairingLink, type PairingKind } from '../../src/channel/pairing-offer.ts';
import { PeerLink } from '../../src/channel/peer-link.ts';
import type { WebSocketConstructor } from '../../src/channel/relay-client.ts';
import type { SecureChannel } from '../../src/channel/secure-channel.ts';
import type { P2KeyShare } from '../../src/mpc/key-share.ts';
import type { PhoneController } from '../../src/phone/phone-controller.ts';
import { ExtensionCoSigner, firstPairShare } from '../../src/session/extension-cosigner.ts';
import { waitFor } from '../relay/relay-support.ts';

export const PHONE_APP = 'https://duet.example/';

export interface ExtensionPeer {
  /** The pairing link to open on the phone. */
  readonly link: string;
  readonly peerLink: PeerLink;
  readonly channel: SecureChannel;
  readonly cosigner: ExtensionCoSigner;
}

/** An extension showing a pairing code: online on the relay, waiting for a phone. */
export async function extensionOffering(relayWsUrl: string, kind: PairingKind = 'new-wallet'): Promise<ExtensionPeer> {
  const { offer, ephemeralSecret } = createPairingOffer(relayWsUrl, Date.now(), undefined, kind);
  const identity = generateIdentity();
  const peerLink = PeerLink.pairing({ role: 'extension', identity, write: async () => undefined, WebSocket: WebSocket as unknown as WebSocketConstructor }, offer, relayWsUrl);
  const channel = peerLink.channel;
  // It signs as member 2 of the new wallet, with the pair's view (the key id the phone binds).
  const cosigner = new ExtensionCoSigner({ send: (m) => channel.send(m), onKeyShare: async (share) => firstPairShare(share, { phone: channel.peerIdentity as Uint8Array, extension: identity.publicKey }) });
  // keygen/0 (the phone's Paillier key and its proof) arrives while the users compare the SAS.
  channel.onEarlyMessage((m) => void cosigner.handleEarly(m));
  channel.onMessage((m) => void cosigner.handle(m));
  channel.awaitPhone(offer, ephemeralSecret);
  await peerLink.connect();
  return { link: encodePairingLink(offer, PHONE_APP), peerLink, channel, cosigner };
}

/** Pairs an unlocked phone with a new extension: both confirm the SAS, key generation runs. */
export async function pairPhone(relayWsUrl: string, phone: PhoneController): Promise<ExtensionPeer & { readonly share: P2KeyShare }> {
  const peer = await extensionOffering(relayWsUrl);
  await phone.pair(peer.link);
  await waitFor(() => phone.view().screen === 'confirm-sas' && peer.channel.currentPhase === 'awaiting-sas');
  peer.channel.confirmSas();
  phone.confirmSas(true);
  await waitFor(() => peer.cosigner.share !== null && phone.view().address !== null && phone.view().members.length > 0, 60_000);
  return { ...peer, share: peer.cosigner.share as P2KeyShare };
}
