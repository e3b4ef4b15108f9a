/**
 * The production PhoneLink: pairing and co-signing with the phone app over the end-to-end
 * encrypted relay channel (src/channel) and the application protocol (src/session), as P2.
 *
 * Vault records it owns: "identity" (this device's long-term key), "keyShare" (P2's share),
 * "channel" and "relay" (resumable channel and relay-client state).
 */
import { decodeBase64Url, encodeBase64Url } from '../channel/base64url.ts';
import { generateIdentity, type Identity } from '../channel/handshake.ts';
import { createPairingOffer, encodePairingLink } from '../channel/pairing-offer.ts';
import { LinkResumeError, PeerLink, type PeerLinkOptions } from '../channel/peer-link.ts';
import type { RelayClientState, WebSocketConstructor } from '../channel/relay-client.ts';
import { ChannelError } from '../channel/channel-error.ts';
import type { SecureChannel, SecureChannelState } from '../channel/secure-channel.ts';
import { decodeP2KeyShare, encodeP2KeyShare } from '../mpc/key-share-codec.ts';
import type { P2KeyShare } from '../mpc/key-share.ts';
import { CoSigningFailed, CoSigningRejected, ExtensionCoSigner } from '../session/extension-cosigner.ts';
import type { SigningRequest } from '../wallet/signing-request.ts';
import { pairedKeyFromParts } from './accounts.ts';
import { CoSignerFailedError, CoSignerRejectedError, type CoSignature, type CoSigner, type PhoneStatus } from './co-signer.ts';
import { IDLE_PAIRING, type PairingDriver, type PairingProgress, type PhoneLink, type PhoneLinkContext, type PhoneLinkFactory } from './pairing.ts';

const IDENTITY_RECORD = 'identity';
const KEY_SHARE_RECORD = 'keyShare';
const CHANNEL_RECORD = 'channel';
const RELAY_RECORD = 'relay';
const DEFAULT_PHONE_NAME = 'Phone';

interface StoredIdentity {
  readonly secretKey: string;
  readonly publicKey: string;
}

interface Connection {
  readonly link: PeerLink;
  readonly cosigner: ExtensionCoSigner;
}

class Listeners<T> {
  private readonly set = new Set<(value: T) => void>();

  add(listener: (value: T) => void): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }

  emit(value: T): void {
    for (const listener of this.set) listener(value);
  }
}

class RelayPhoneLink implements PhoneLink, PairingDriver, CoSigner {
  private readonly context: PhoneLinkContext;
  private readonly WebSocketImpl: WebSocketConstructor | undefined;
  private connection: Connection | null = null;
  private current: PairingProgress = IDLE_PAIRING;
  private lastSeen: number | null = null;
  /** Why the stored link cannot be used (shown on the Devices page), if so. */
  private problem: string | null = null;
  /** Co-signing messages waiting for the channel state to be stored (sendOrHold). */
  private unsent: unknown[] = [];
  private readonly progressListeners = new Listeners<PairingProgress>();
  private readonly statusListeners = new Listeners<PhoneStatus>();
  private readonly ready: Promise<void>;

  constructor(context: PhoneLinkContext, WebSocketImpl: WebSocketConstructor | undefined) {
    this.context = context;
    this.WebSocketImpl = WebSocketImpl;
    this.ready = this.resumePairedChannel().catch(() => undefined);
  }

  get pairing(): PairingDriver {
    return this;
  }

  get coSigner(): CoSigner {
    return this;
  }

  // ---- pairing --------------------------------------------------------------------------------

  progress(): PairingProgress {
    return this.current;
  }

  onProgress(listener: (progress: PairingProgress) => void): () => void {
    return this.progressListeners.add(listener);
  }

  async start(): Promise<void> {
    await this.ready;
    const identity = await this.identity();
    this.closeConnection();
    const { offer, ephemeralSecret } = createPairingOffer(this.context.relayUrl, this.context.now());
    const link = PeerLink.pairing(this.linkOptions(identity), offer, this.context.relayUrl);
    const channel = link.channel;
    channel.awaitPhone(offer, ephemeralSecret);
    const cosigner = new ExtensionCoSigner({
      send: (message) => channel.send(message),
      onKeyShare: (share) => this.onNewKeyShare(share),
      onKeygenFailed: (error) => {
        this.closeConnection();
        this.setProgress({ ...IDLE_PAIRING, phase: 'failed', error: `Pairing failed: ${error.message}` });
      },
    });
    this.connection = { link, cosigner };
    this.setProgress({ phase: 'showing-code', link: encodePairingLink(offer, this.context.phoneAppUrl), sas: null, error: null, expiresAt: offer.expiresAt });
    channel.onEvent((event) => {
      if (event.kind === 'sas') this.setProgress({ ...this.current, phase: 'confirm-sas', sas: event.sas });
      if (event.kind === 'paired') this.setProgress({ ...this.current, phase: 'generating-key' });
      if (event.kind === 'error' && this.current.phase !== 'idle' && channel.currentPhase !== 'paired') this.setProgress({ ...this.current, phase: 'failed', error: event.error.message });
    });
    // The phone's Paillier key and its proof arrive while both users compare the codes.
    channel.onEarlyMessage((message) => void cosigner.handleEarly(message));
    channel.onMessage((message) => {
      this.markSeen();
      void cosigner.handle(message);
    });
    link.onStatus(() => this.statusListeners.emit(this.status()));
    try {
      await link.connect();
    } catch (error) {
      this.setProgress({ ...IDLE_PAIRING, phase: 'failed', error: error instanceof Error ? error.message : 'The relay cannot be reached.' });
    }
  }

  confirmSas(matches: boolean): void {
    const channel = this.connection?.link.channel;
    if (!channel || this.current.phase !== 'confirm-sas') return;
    if (matches) channel.confirmSas();
    else {
      channel.rejectSas();
      this.setProgress({ ...IDLE_PAIRING, phase: 'failed', error: 'The codes did not match: pairing stopped. Start again.' });
    }
  }

  cancel(): void {
    if (this.connection?.cosigner.share) return;
    this.closeConnection();
    this.setProgress(IDLE_PAIRING);
  }

  private setProgress(progress: PairingProgress): void {
    this.current = progress;
    this.progressListeners.emit(progress);
  }

  private async onNewKeyShare(share: P2KeyShare): Promise<void> {
    const connection = this.connection;
    if (!connection) throw new CoSignerFailedError('unavailable', 'the pairing was cancelled');
    await connection.link.store((state) =>
      this.context.completePairing(
        { pairedKey: pairedKeyFromParts(share.publicKey.toBytes(true), share.chainCode), deviceName: DEFAULT_PHONE_NAME },
        { [KEY_SHARE_RECORD]: encodeP2KeyShare(share), [CHANNEL_RECORD]: state.channel, [RELAY_RECORD]: state.relay },
      ),
    );
    this.setProgress(IDLE_PAIRING);
  }

  // ---- co-signing -------------------------------------------------------------------------------

  status(): PhoneStatus {
    const link = this.connection?.link;
    return { reachable: link?.online ?? false, lastSeen: this.lastSeen, problem: this.problem ?? link?.problem ?? null };
  }

  onStatusChange(listener: (status: PhoneStatus) => void): () => void {
    return this.statusListeners.add(listener);
  }

  async sign(request: SigningRequest, signal: AbortSignal): Promise<CoSignature> {
    await this.ready;
    const cosigner = this.connection?.cosigner;
    if (!cosigner?.share) throw new CoSignerFailedError('not_paired', this.problem ?? 'No phone is paired.');
    // A relay refusal that waiting cannot cure (the phone ended the pairing…): say so now.
    const link = this.connection?.link;
    if (link?.status.kind === 'failed') throw new CoSignerFailedError('unavailable', link.problem ?? 'Your phone cannot be reached.');
    signal.throwIfAborted();
    const onAbort = () => cosigner.cancel(request.id, signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const signature = await cosigner.requestSignature(request);
      await this.persistChannel();
      return signature;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof CoSigningRejected) throw new CoSignerRejectedError(error.message);
      if (error instanceof CoSigningFailed) throw new CoSignerFailedError(error.reason === 'tainted' ? 'tainted' : 'protocol_error', error.message);
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  async forget(): Promise<void> {
    // The phone learns at once that it was unpaired (its relay channel is refused from now on).
    await this.connection?.link.retire();
    this.closeConnection();
    for (const record of [KEY_SHARE_RECORD, CHANNEL_RECORD, RELAY_RECORD]) await this.context.secrets.delete(record);
    this.setProgress(IDLE_PAIRING);
  }

  close(): void {
    this.closeConnection();
  }

  private closeConnection(): void {
    this.connection?.link.close();
    this.connection = null;
    this.problem = null;
    this.statusListeners.emit(this.status());
  }

  private markSeen(): void {
    this.lastSeen = this.context.now();
    this.context.seen(this.lastSeen);
  }

  private async identity(): Promise<Identity> {
    const stored = await this.context.secrets.get<StoredIdentity>(IDENTITY_RECORD);
    const secretKey = stored ? decodeBase64Url(stored.secretKey) : null;
    const publicKey = stored ? decodeBase64Url(stored.publicKey) : null;
    if (secretKey && publicKey) return { secretKey, publicKey };
    const identity = generateIdentity();
    await this.context.secrets.putMany({ [IDENTITY_RECORD]: { secretKey: encodeBase64Url(identity.secretKey), publicKey: encodeBase64Url(identity.publicKey) } });
    return identity;
  }

  /**
   * The vault records of the link are written only once a key share exists: before that, nothing
   * of an unfinished pairing is kept (and a previous pairing's records are never overwritten).
   */
  private linkOptions(identity: Identity): PeerLinkOptions {
    return {
      role: 'extension',
      identity,
      write: async (state) => {
        if (this.connection?.cosigner.share) await this.context.secrets.putMany({ [CHANNEL_RECORD]: state.channel, [RELAY_RECORD]: state.relay });
      },
      ...(this.WebSocketImpl ? { WebSocket: this.WebSocketImpl } : {}),
    };
  }

  private async resumePairedChannel(): Promise<void> {
    const [shareJson, channelState, relayState] = await Promise.all([
      this.context.secrets.get<unknown>(KEY_SHARE_RECORD),
      this.context.secrets.get<SecureChannelState>(CHANNEL_RECORD),
      this.context.secrets.get<RelayClientState>(RELAY_RECORD),
    ]);
    if (!shareJson || !channelState || !relayState) return;
    const identity = await this.identity();
    let link: PeerLink;
    try {
      link = PeerLink.resume(this.linkOptions(identity), { channel: channelState, relay: relayState });
    } catch (error) {
      if (!(error instanceof LinkResumeError)) throw error;
      this.problem = `The link to your phone cannot be resumed: ${error.message} Unpair it and pair again.`;
      this.statusListeners.emit(this.status());
      return;
    }
    const channel = link.channel;
    const cosigner = new ExtensionCoSigner({ send: (message) => this.sendOrHold(channel, message), onKeyShare: (share) => this.onNewKeyShare(share), keyShare: decodeP2KeyShare(shareJson) });
    channel.onMessage((message) => {
      this.markSeen();
      void cosigner.handle(message).then(() => this.persistChannel());
    });
    link.onStatus(() => this.statusListeners.emit(this.status()));
    this.connection = { link, cosigner };
    // A restored channel sends nothing until a fresh state is stored (no AEAD nonce is reused).
    await this.persistChannel();
    void link.connect().catch(() => this.statusListeners.emit(this.status()));
  }

  private async persistChannel(): Promise<void> {
    await this.connection?.link.store();
  }

  /**
   * Sends a co-signing message, or — when the channel may not send before its state is stored
   * (it switched to keys restored from storage after a worker restart: save_required) — keeps it,
   * stores the state and sends what waits, in order. A store that fails drops them: the round then
   * times out, which never taints.
   */
  private sendOrHold(channel: SecureChannel, message: unknown): void {
    if (this.unsent.length === 0) {
      try {
        channel.send(message);
        return;
      } catch (error) {
        if (!(error instanceof ChannelError) || error.code !== 'save_required') throw error;
      }
    }
    this.unsent.push(message);
    if (this.unsent.length === 1) void this.sendAfterStore(channel);
  }

  private async sendAfterStore(channel: SecureChannel): Promise<void> {
    try {
      await this.persistChannel();
      while (this.unsent.length > 0) {
        channel.send(this.unsent[0]);
        this.unsent.shift();
      }
    } catch {
      this.unsent = [];
    }
  }
}

/** The relay-backed link; `WebSocketImpl` defaults to the global WebSocket (service worker). */
export function relayPhoneLinks(WebSocketImpl?: WebSocketConstructor): PhoneLinkFactory {
  return (context) => new RelayPhoneLink(context, WebSocketImpl);
}
