/**
 * The extension's side of a pairing with a real PhoneController, in Node: a relay client, the
 * encrypted channel and an ExtensionCoSigner, over a real relay on loopback.
 */
import { generateIdentity } from '../../src/channel/handshake.ts';
import { createPairingOffer, encodePairingLink, relayChannelName, type PairingKind } from '../../src/channel/pairing-offer.ts';
import type { RelayClient } from '../../src/channel/relay-client.ts';
import { SecureChannel } from '../../src/channel/secure-channel.ts';
import type { P2KeyShare } from '../../src/mpc/key-share.ts';
import type { PhoneController } from '../../src/phone/phone-controller.ts';
import { ExtensionCoSigner } from '../../src/session/extension-cosigner.ts';
import { client, waitFor } from '../relay/relay-support.ts';

export const PHONE_APP = 'https://duet.example/';

export interface ExtensionPeer {
  readonly link: string;
  readonly relay: RelayClient;
  readonly channel: SecureChannel;
  readonly cosigner: ExtensionCoSigner;
}

/** An extension showing a pairing code: online on the relay, waiting for a phone. */
export async function extensionOffering(relayWsUrl: string, kind: PairingKind = 'new-wallet'): Promise<ExtensionPeer> {
  const { offer, ephemeralSecret } = createPairingOffer(relayWsUrl, Date.now(), undefined, kind);
  const relay = client(relayWsUrl, relayChannelName(offer), 'extension');
  await relay.connect();
  const channel = new SecureChannel({ transport: relay, role: 'extension', channelId: offer.channelId, identity: generateIdentity() });
  const cosigner = new ExtensionCoSigner({ send: (m) => channel.send(m), onKeyShare: async () => undefined });
  channel.onMessage((m) => void cosigner.handle(m));
  channel.awaitPhone(offer, ephemeralSecret);
  return { link: encodePairingLink(offer, PHONE_APP), relay, channel, cosigner };
}

/** Pairs an unlocked phone with a new extension: both confirm the SAS, key generation runs. */
export async function pairPhone(relayWsUrl: string, phone: PhoneController): Promise<ExtensionPeer & { readonly share: P2KeyShare }> {
  const peer = await extensionOffering(relayWsUrl);
  await phone.pair(peer.link);
  await waitFor(() => phone.view().screen === 'confirm-sas' && peer.channel.currentPhase === 'awaiting-sas');
  peer.channel.confirmSas();
  phone.confirmSas(true);
  await waitFor(() => peer.cosigner.share !== null && phone.view().address !== null && phone.view().extension !== null, 60_000);
  return { ...peer, share: peer.cosigner.share as P2KeyShare };
}
