/**
 * The phone co-signer's logic (P1), separate from its views: PIN-protected vault, pairing from a
 * scanned link, key generation, incoming requests with approve/reject, taint, history.
 */
import { decodeBase64Url, encodeBase64Url } from '../channel/base64url.ts';
import { ChannelError } from '../channel/channel-error.ts';
import { generateIdentity, type Identity } from '../channel/handshake.ts';
import { decodePairingLink, relayChannelName } from '../channel/pairing-offer.ts';
import { LinkResumeError, PeerLink, type PeerLinkOptions } from '../channel/peer-link.ts';
import { describeRelayStatus, type RelayClientState } from '../channel/relay-client.ts';
import type { SecureChannelState } from '../channel/secure-channel.ts';
import type { LinkState } from '../channel/stored-link-state.ts';
import { accountAddress } from '../mpc/derivation.ts';
import { decodeP1KeyShare, encodeP1KeyShare } from '../mpc/key-share-codec.ts';
import type { P1KeyShare } from '../mpc/key-share.ts';
import { applyTaintRecord, isOpenRequest, PhoneCoSigner, type PhoneEvent, type PhoneRequest, type SavedPhoneRequest, type SettledStatus, type TaintRecord } from '../session/phone-cosigner.ts';
import { createVault, unlockVault, vaultExists, VaultError, type UnlockedVault } from '../vault/vault.ts';
import { parseRescueAddress } from '../wallet/rescue.ts';
import { PaillierKeyPool, type PaillierKeySource } from './paillier-key-pool.ts';

export const PHONE_VAULT = 'duet-phone';
export const MIN_PIN_LENGTH = 6;
/** The app locks itself after this long without a touch or key press. */
export const AUTO_LOCK_MS = 5 * 60_000;

/** Settled requests kept (with their answers) so a restarted extension gets the same answer. */
const SETTLED_REQUESTS_KEPT = 20;

export type PhoneScreen = 'loading' | 'create-pin' | 'unlock' | 'home' | 'pairing' | 'confirm-sas' | 'generating-key' | 'tainted';

export interface HistoryEntry {
  readonly id: string;
  readonly title: string;
  readonly origin: string;
  readonly at: number;
  readonly outcome: SettledStatus;
}

export interface PairedExtension {
  readonly name: string;
  readonly pairedAt: number;
  lastSeen: number;
}

export interface PhoneView {
  readonly screen: PhoneScreen;
  readonly error: string | null;
  readonly sas: string | null;
  readonly address: string | null;
  readonly requests: readonly PhoneRequest[];
  readonly history: readonly HistoryEntry[];
  readonly extension: PairedExtension | null;
  readonly online: boolean;
  readonly persistentStorage: boolean | null;
  /** After a taint: whether the record is stored yet, and where rescue transfers may go. */
  readonly taint: { readonly stored: boolean; readonly rescueAddress: string | null } | null;
}

export interface PhoneControllerOptions {
  /** Where Paillier keys come from (default: a Web Worker, else the main thread). */
  readonly paillierKeys?: PaillierKeySource;
}

export class PhoneController {
  private vault: UnlockedVault | null = null;
  private identity: Identity | null = null;
  private link: PeerLink | null = null;
  private cosigner: PhoneCoSigner | null = null;
  private pendingLink: string | null;
  private screen: PhoneScreen = 'loading';
  private error: string | null = null;
  private sas: string | null = null;
  private address: string | null = null;
  private history: HistoryEntry[] = [];
  private extension: PairedExtension | null = null;
  private persistentStorage: boolean | null = null;
  private taint: { stored: boolean; rescueAddress: string | null } | null = null;
  /** A lock asked for while a taint was not yet stored: it happens once the record is. */
  private lockAfterTaintStored = false;
  private readonly keys: PaillierKeyPool;
  private readonly listeners = new Set<() => void>();

  constructor(pairingLink: string | null, options: PhoneControllerOptions = {}) {
    this.pendingLink = pairingLink;
    this.keys = new PaillierKeyPool(options.paillierKeys);
  }

  view(): PhoneView {
    return {
      screen: this.screen,
      error: this.error,
      sas: this.sas,
      address: this.address,
      requests: this.cosigner?.list().filter((r) => isOpenRequest(r.status)) ?? [],
      history: this.history,
      extension: this.extension,
      online: this.link?.online ?? false,
      persistentStorage: this.persistentStorage,
      taint: this.taint,
    };
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  private fail(message: string): void {
    this.error = message;
    this.changed();
  }

  async start(): Promise<void> {
    // The Paillier key for a pairing is made while the user types the PIN (idle time).
    this.keys.fill();
    this.screen = (await vaultExists(PHONE_VAULT)) ? 'unlock' : 'create-pin';
    this.changed();
  }

  async createPin(pin: string, confirmation: string): Promise<void> {
    if (pin.length < MIN_PIN_LENGTH) return this.fail(`Use at least ${MIN_PIN_LENGTH} digits or characters.`);
    if (pin !== confirmation) return this.fail('The two entries differ.');
    let vault: UnlockedVault;
    try {
      vault = await createVault(PHONE_VAULT, pin);
    } catch (error) {
      return this.fail(unlockFailure(error));
    }
    this.persistentStorage = (await globalThis.navigator?.storage?.persist?.()) ?? null;
    await this.opened(vault);
  }

  /** A wrong PIN or damaged storage is a message on the unlock screen; the phone stays locked. */
  async unlock(pin: string): Promise<void> {
    if (this.vault) return;
    let vault: UnlockedVault;
    try {
      vault = await unlockVault(PHONE_VAULT, pin);
    } catch (error) {
      return this.fail(unlockFailure(error));
    }
    await this.opened(vault);
  }

  /** Reads what the vault holds (creating the identity key on a first run); a failure locks again. */
  private async opened(vault: UnlockedVault): Promise<void> {
    this.vault = vault;
    this.error = null;
    try {
      this.identity = await loadOrCreateIdentity(vault);
      await this.afterUnlock();
    } catch (error) {
      this.lock();
      this.fail(unlockFailure(error));
    }
  }

  /** Closes the connection and forgets everything read from the vault (once a pending taint is stored). */
  lock(): void {
    if (this.taint && !this.taint.stored) {
      this.lockAfterTaintStored = true;
      return;
    }
    this.link?.close();
    this.link = null;
    this.cosigner = null;
    this.vault?.lock();
    this.vault = null;
    this.identity = null;
    this.sas = null;
    this.address = null;
    this.extension = null;
    this.history = [];
    this.taint = null;
    this.screen = 'unlock';
    this.changed();
  }

  private async afterUnlock(): Promise<void> {
    const vault = this.vault as UnlockedVault;
    this.history = (await vault.get<HistoryEntry[]>('history')) ?? [];
    this.extension = (await vault.get<PairedExtension>('extension')) ?? null;
    const shareJson = await vault.get<unknown>('keyShare');
    const channelState = await vault.get<SecureChannelState>('channel');
    const relayState = await vault.get<RelayClientState>('relay');
    if (shareJson && channelState && relayState) {
      // The taint is stored on its own, ahead of the share: either record makes the share tainted.
      const share = applyTaintRecord(decodeP1KeyShare(shareJson), await vault.get<TaintRecord>('taint'));
      this.address = accountAddress(share.publicKey, share.chainCode, 0);
      const rescueAddress = (await vault.get<string>('rescueAddress')) ?? null;
      const savedRequests = (await vault.get<SavedPhoneRequest[]>('requests')) ?? [];
      const link = this.resumeLink({ channel: channelState, relay: relayState });
      if (link) {
        const cosigner = this.connect(link, share, savedRequests, rescueAddress);
        this.taint = cosigner.tainted ? { stored: true, rescueAddress } : null;
        this.screen = cosigner.tainted ? 'tainted' : 'home';
        // A restored channel sends nothing until a fresh state is stored (no AEAD nonce is reused).
        await this.persistChannel();
        this.cosigner?.resume();
        this.goOnline();
      }
    } else {
      this.screen = 'home';
    }
    this.changed();
    if (this.pendingLink) {
      const link = this.pendingLink;
      this.pendingLink = null;
      await this.pair(link);
    }
  }

  /** The stored link, or null with a message when it cannot be resumed (the user pairs again). */
  private resumeLink(state: LinkState): PeerLink | null {
    try {
      return PeerLink.resume(this.linkOptions(), state);
    } catch (error) {
      if (!(error instanceof LinkResumeError)) throw error;
      this.error = `The link to your browser cannot be resumed: ${error.message} Unpair here and in the extension, then pair again.`;
      return null;
    }
  }

  private linkOptions(): PeerLinkOptions {
    return { role: 'phone', identity: this.identity as Identity, write: (state) => this.writeLinkState(state) };
  }

  private connect(link: PeerLink, share?: P1KeyShare, savedRequests: readonly SavedPhoneRequest[] = [], rescueAddress: string | null = null): PhoneCoSigner {
    const channel = link.channel;
    const cosigner = new PhoneCoSigner({
      send: (message) => channel.send(message),
      sendEarly: (message) => channel.sendEarly(message),
      saveKeyShare: (next) => this.saveKeyShare(next),
      saveTaint: (record) => this.saveTaint(record),
      onEvent: (event) => void this.onCosignerEvent(event),
      preparedKey: () => this.keys.take(),
      savedRequests,
      rescueAddress,
      ...(share ? { keyShare: share } : {}),
    });
    channel.onMessage((message) => {
      if (this.extension) this.extension.lastSeen = Date.now();
      void cosigner.handle(message).then(() => this.persistChannel());
    });
    channel.onEvent((event) => {
      if (event.kind === 'sas') {
        this.sas = event.sas;
        this.screen = 'confirm-sas';
        // The extension checks the key's proof while both users compare the codes.
        void cosigner.announceKey().catch((error: unknown) => this.fail(error instanceof Error ? error.message : 'The key could not be prepared.'));
      } else if (event.kind === 'paired') {
        this.screen = 'generating-key';
        void cosigner.startKeygen(encodeBase64Url(event.peerIdentity));
      } else if (event.kind === 'error' && channel.currentPhase !== 'paired') {
        // After pairing, frames the relay garbles are dropped and change nothing: not worth a message.
        this.error = event.error.message;
      }
      this.changed();
    });
    link.onStatus((status) => {
      const problem = describeRelayStatus(status);
      if (status.kind === 'failed' && problem) this.error = problem;
      this.changed();
    });
    link.onNotice((message) => this.fail(message));
    this.link = link;
    this.cosigner = cosigner;
    return cosigner;
  }

  private goOnline(): void {
    void this.link?.connect().catch(() => undefined);
  }

  /** A scanned, pasted or opened pairing link. */
  async pair(link: string): Promise<void> {
    if (!this.vault || !this.identity) {
      this.pendingLink = link;
      return;
    }
    let offer;
    try {
      offer = decodePairingLink(link, Date.now());
    } catch (error) {
      return this.fail(error instanceof ChannelError ? error.message : 'This is not a Duet pairing link.');
    }
    const used = (await this.vault.get<string[]>('usedOffers')) ?? [];
    const name = relayChannelName(offer);
    if (used.includes(name)) return this.fail('This pairing code was already used. Show a new one in the extension.');
    await this.vault.put('usedOffers', [...used, name]);
    this.link?.close();
    this.error = null;
    this.screen = 'pairing';
    this.changed();
    const peer = PeerLink.pairing(this.linkOptions(), offer, offer.relayUrl);
    this.connect(peer);
    this.goOnline();
    peer.channel.answerOffer(offer);
  }

  confirmSas(matches: boolean): void {
    const channel = this.link?.channel;
    if (!channel) return;
    if (matches) channel.confirmSas();
    else {
      channel.rejectSas();
      this.screen = 'home';
    }
    this.changed();
  }

  /** Forgets the pairing and deletes this phone's key share (after the user confirmed). */
  async unpair(): Promise<void> {
    const vault = this.vault;
    if (!vault) return;
    // The extension learns at once that this phone left (its relay channel is refused from now on).
    await this.link?.retire();
    this.link?.close();
    this.link = null;
    this.cosigner = null;
    for (const key of ['keyShare', 'channel', 'relay', 'extension', 'requests']) await vault.delete(key);
    this.address = null;
    this.extension = null;
    this.screen = 'home';
    this.changed();
  }

  get unlocked(): boolean {
    return this.vault !== null;
  }

  approve(id: string): void {
    this.cosigner?.approve(id);
    this.changed();
  }

  reject(id: string): void {
    this.cosigner?.reject(id);
    this.changed();
  }

  /**
   * After a taint: the address rescue transfers may go to, typed (or scanned) on this phone. It
   * must not be one of this wallet's own addresses.
   */
  async setRescueAddress(text: string): Promise<void> {
    const address = parseRescueAddress(text);
    if (!address) return this.fail('This is not an Ethereum address.');
    if (address === this.address) return this.fail("This is the wallet's own address: enter the address of a new wallet.");
    if (!this.vault || !this.cosigner || !this.taint) return;
    await this.vault.put('rescueAddress', address);
    this.cosigner.setRescueAddress(address);
    this.taint = { ...this.taint, rescueAddress: address };
    this.error = null;
    this.changed();
  }

  private async saveTaint(record: TaintRecord): Promise<void> {
    const vault = this.vault;
    if (!vault) throw new Error('locked');
    await vault.putFirst({ taint: record });
  }

  private async saveKeyShare(share: P1KeyShare): Promise<void> {
    const { vault, link } = this;
    if (!vault || !link) throw new Error('locked');
    await link.store((state) => vault.putMany({ keyShare: encodeP1KeyShare(share), ...state }));
  }

  /** The link state with what the phone keeps beside it; nothing of a pairing without a key share yet. */
  private async writeLinkState(state: LinkState): Promise<void> {
    const { vault, cosigner } = this;
    if (!vault) throw new VaultError('locked', 'the phone is locked');
    if (!cosigner?.share) return;
    await vault.putMany({ ...state, history: this.history, extension: this.extension, requests: this.savedRequests(cosigner) });
  }

  private async persistChannel(): Promise<void> {
    try {
      await this.link?.store();
    } catch (error) {
      // Locked while writing: the next unlock restores the last stored state, as after a reload.
      if (!this.vault || (error instanceof VaultError && error.code === 'locked')) return;
      throw error;
    }
  }

  /** Open requests, and the latest settled ones with their answers. */
  private savedRequests(cosigner: PhoneCoSigner): SavedPhoneRequest[] {
    const saved = cosigner.saved();
    const settled = saved.filter((entry) => !isOpenRequest(entry.status)).slice(-SETTLED_REQUESTS_KEPT);
    return [...saved.filter((entry) => isOpenRequest(entry.status)), ...settled];
  }

  private async onCosignerEvent(event: PhoneEvent): Promise<void> {
    if (event.kind === 'paired') {
      // The key of this pairing is used: prepare the next one while the phone is idle.
      this.keys.fill();
      this.address = event.address;
      this.extension = { name: 'Browser extension', pairedAt: Date.now(), lastSeen: Date.now() };
      this.screen = 'home';
      await this.persistChannel();
    } else if (event.kind === 'tainted') {
      this.screen = 'tainted';
      this.taint = { stored: event.stored, rescueAddress: this.taint?.rescueAddress ?? null };
      if (event.stored && this.lockAfterTaintStored) {
        this.lockAfterTaintStored = false;
        // After the answers held back for the record (queued on it, they run first).
        setTimeout(() => this.lock(), 0);
      }
    } else if (event.kind === 'keygen-failed') {
      this.screen = 'home';
      this.error = `Pairing failed: ${event.message}`;
      this.link?.close();
    } else if (event.kind === 'request' || event.kind === 'request-updated') {
      const { request, display, status } = event.request;
      if (!isOpenRequest(status)) this.history = [{ id: request.id, title: display.title, origin: request.origin, at: Date.now(), outcome: status }, ...this.history].slice(0, 100);
      await this.persistChannel();
    }
    this.changed();
  }
}

function unlockFailure(error: unknown): string {
  if (error instanceof VaultError && error.code === 'wrong_password') return 'Wrong PIN.';
  if (error instanceof VaultError && error.code === 'corrupt') return "This phone's stored data is damaged and cannot be read. Unpair in the extension and pair again.";
  if (error instanceof VaultError) return `The phone's storage refused: ${error.message}.`;
  throw error;
}

type StoredIdentity = { secretKey: string; publicKey: string };

/** The phone's long-term identity key; created and stored on the first run (or if that run stopped before storing it). */
async function loadOrCreateIdentity(vault: UnlockedVault): Promise<Identity> {
  const stored = await vault.get<StoredIdentity>('identity');
  if (stored) return { secretKey: decodeBase64Url(stored.secretKey) as Uint8Array, publicKey: decodeBase64Url(stored.publicKey) as Uint8Array };
  const identity = generateIdentity();
  await vault.put('identity', { secretKey: encodeBase64Url(identity.secretKey), publicKey: encodeBase64Url(identity.publicKey) } satisfies StoredIdentity);
  return identity;
}
