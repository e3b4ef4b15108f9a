/**
 * The phone co-signer's logic (P1), separate from its views: the vault (keyed by the phone's
 * screen lock or a strong passphrase, phone-vault-key.ts), pairing from a scanned link, key
 * generation, incoming requests with approve/reject, taint, history.
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
import { isTainted, type P1KeyShare } from '../mpc/key-share.ts';
import { applyTaintRecord, isOpenRequest, PhoneCoSigner, type PhoneEvent, type PhoneRequest, type SavedPhoneRequest, type SettledStatus, type TaintRecord } from '../session/phone-cosigner.ts';
import type { WeakKdfForTests } from '../vault/test-only-weak-kdf.ts';
import { VaultError, type ScryptCost, type UnlockedVault } from '../vault/vault.ts';
import { parseRescueAddress } from '../wallet/rescue.ts';
import type { DeviceKeyAuthenticator } from './device-key.ts';
import { PaillierKeyPool, type PaillierKeySource } from './paillier-key-pool.ts';
import { generatePassphrase } from './passphrase.ts';
import { PhoneKeyError, PhoneVaultKey, vaultFailure, type NewKeyChoice, type UnlockMethod } from './phone-vault-key.ts';
import type { AttemptStore } from './unlock-throttle.ts';

export const PHONE_VAULT = 'duet-phone';
/** The phone's count of wrong unlock attempts (unlock-throttle.ts), beside the vault. */
export const PHONE_ATTEMPTS_DB = 'duet-phone-attempts';
/** The app locks itself after this long without a touch or key press. */
export const AUTO_LOCK_MS = 5 * 60_000;

/** Settled requests kept (with their answers) so a restarted extension gets the same answer. */
const SETTLED_REQUESTS_KEPT = 20;

/** create-key: first run; upgrade-key: a PIN vault was opened and must get a stronger key first. */
export type PhoneScreen = 'loading' | 'create-key' | 'unlock' | 'upgrade-key' | 'home' | 'pairing' | 'confirm-sas' | 'generating-key' | 'tainted';

export interface PhoneControllerOptions {
  /** A pairing link the app was opened with; used once the vault is open. */
  readonly pairingLink: string | null;
  /** The browser's WebAuthn (device-key.ts), or null where there is none. */
  readonly deviceKey: DeviceKeyAuthenticator | null;
  readonly attempts: AttemptStore;
  /** Whether the app may connect to a pairing link's relay (its CSP's connect-src); default: any. */
  readonly relayAllowed?: (relayUrl: string) => boolean;
  readonly now?: () => number;
  /** Tests only, with weakKdfForTests: a cheaper scrypt. */
  readonly scryptCost?: ScryptCost;
  readonly weakKdfForTests?: WeakKdfForTests;
  /** Where Paillier keys come from (default: a Web Worker, else the main thread). */
  readonly paillierKeys?: PaillierKeySource;
}

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
  /** While a key is derived or the screen lock is asked (a second or so). */
  readonly busy: boolean;
  /** How the stored vault opens (unlock screen). */
  readonly unlockMethod: UnlockMethod | null;
  /** Whether to offer the screen lock when choosing a key. */
  readonly deviceKeyAvailable: boolean;
  /** A generated passphrase to offer when choosing a key. */
  readonly suggestedPassphrase: string | null;
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

/** One connection to an extension: the link over the relay (peer-link.ts) and the co-signer on it. */
interface Link {
  readonly peer: PeerLink;
  readonly cosigner: PhoneCoSigner;
}

export class PhoneController {
  private vault: UnlockedVault | null = null;
  private identity: Identity | null = null;
  /** The connection of the wallet this phone holds; never touched by a pairing. */
  private live: Link | null = null;
  /** A pairing in progress (this phone holds no wallet yet); becomes `live` once its share is stored. */
  private pairing: Link | null = null;
  private pendingLink: string | null;
  private readonly vaultKey: PhoneVaultKey;
  private readonly relayAllowed: (relayUrl: string) => boolean;
  private screen: PhoneScreen = 'loading';
  private busy = false;
  private unlockMethod: UnlockMethod | null = null;
  private deviceKeyAvailable = false;
  private suggestedPassphrase: string | null = null;
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

  constructor(options: PhoneControllerOptions) {
    this.pendingLink = options.pairingLink;
    this.keys = new PaillierKeyPool(options.paillierKeys);
    this.relayAllowed = options.relayAllowed ?? (() => true);
    this.vaultKey = new PhoneVaultKey({
      vaultName: PHONE_VAULT,
      deviceKey: options.deviceKey,
      attempts: options.attempts,
      now: options.now ?? Date.now,
      ...(options.scryptCost ? { scryptCost: options.scryptCost } : {}),
      ...(options.weakKdfForTests ? { weakKdfForTests: options.weakKdfForTests } : {}),
    });
  }

  view(): PhoneView {
    return {
      screen: this.screen,
      busy: this.busy,
      unlockMethod: this.unlockMethod,
      deviceKeyAvailable: this.deviceKeyAvailable,
      suggestedPassphrase: this.suggestedPassphrase,
      error: this.error,
      sas: this.sas,
      address: this.address,
      requests: this.live?.cosigner.list().filter((r) => isOpenRequest(r.status)) ?? [],
      history: this.history,
      extension: this.extension,
      online: this.live?.peer.online ?? false,
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
    // The Paillier key for a pairing is made while the user unlocks (idle time).
    this.keys.fill();
    this.deviceKeyAvailable = await this.vaultKey.deviceKeyAvailable();
    try {
      this.unlockMethod = await this.vaultKey.method();
    } catch (error) {
      this.screen = 'unlock';
      return this.fail(keyFailure(error));
    }
    if (this.unlockMethod) this.screen = 'unlock';
    else this.toChoosingKey('create-key');
    this.changed();
  }

  private toChoosingKey(screen: 'create-key' | 'upgrade-key'): void {
    this.screen = screen;
    this.suggestedPassphrase = generatePassphrase();
  }

  /** Runs one key step with the busy flag up; a PhoneKeyError becomes the screen's message. */
  private async keyStep(step: () => Promise<void>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.error = null;
    this.changed();
    try {
      await step();
    } catch (error) {
      this.error = keyFailure(error);
    } finally {
      this.busy = false;
      this.changed();
    }
  }

  /**
   * First run: the vault keyed by the screen lock or a passphrase. On the upgrade screen (a PIN
   * vault just opened): the open vault re-keyed the same way, then the phone carries on.
   */
  async chooseKey(choice: NewKeyChoice): Promise<void> {
    if (this.screen === 'create-key') {
      await this.keyStep(async () => {
        const vault = await this.vaultKey.create(choice);
        this.unlockMethod = choice.kind === 'device' ? 'device' : 'passphrase';
        this.suggestedPassphrase = null;
        this.persistentStorage = (await globalThis.navigator?.storage?.persist?.()) ?? null;
        await this.opened(vault);
      });
    } else if (this.screen === 'upgrade-key' && this.vault) {
      const vault = this.vault;
      await this.keyStep(async () => {
        await this.vaultKey.upgrade(vault, choice);
        this.unlockMethod = choice.kind === 'device' ? 'device' : 'passphrase';
        this.suggestedPassphrase = null;
        await this.opened(vault);
      });
    }
  }

  /**
   * The passphrase (or an old PIN), or nothing for the screen lock. A wrong one, a cancelled screen
   * lock, too many attempts or damaged storage is a message on the unlock screen; the phone stays
   * locked and nothing changes. An old PIN vault opens to the upgrade screen, and nothing else.
   */
  async unlock(secret?: string): Promise<void> {
    if (this.vault || this.screen !== 'unlock') return;
    await this.keyStep(async () => {
      const { vault, method } = await this.vaultKey.unlock(secret);
      if (method === 'pin') {
        this.vault = vault;
        this.toChoosingKey('upgrade-key');
      } else {
        await this.opened(vault);
      }
    });
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
      this.fail(keyFailure(error));
    }
  }

  /** Closes the connection and forgets everything read from the vault (once a pending taint is stored). */
  lock(): void {
    if (this.taint && !this.taint.stored) {
      this.lockAfterTaintStored = true;
      return;
    }
    this.closeLinks();
    this.vault?.lock();
    this.vault = null;
    this.identity = null;
    this.sas = null;
    this.address = null;
    this.extension = null;
    this.history = [];
    this.suggestedPassphrase = null;
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
      // The wallet's screen also when its link cannot be resumed (the message says to unpair).
      this.taint = isTainted(share) ? { stored: true, rescueAddress } : null;
      this.screen = this.taint ? 'tainted' : 'home';
      const live = this.resumeLink({ channel: channelState, relay: relayState }, share, savedRequests, rescueAddress);
      if (live) {
        this.live = live;
        // A restored channel sends nothing until a fresh state is stored (no AEAD nonce is reused).
        await this.persistChannel();
        live.cosigner.resume();
        this.goOnline(live);
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
  private resumeLink(state: LinkState, share: P1KeyShare, savedRequests: readonly SavedPhoneRequest[], rescueAddress: string | null): Link | null {
    try {
      return this.connect((options) => PeerLink.resume(options, state), share, savedRequests, rescueAddress);
    } catch (error) {
      if (!(error instanceof LinkResumeError)) throw error;
      this.error = `The link to your browser cannot be resumed: ${error.message} Unpair here and in the extension, then pair again.`;
      return null;
    }
  }

  /** A link opened by `open` with its co-signer; its events count only while it is `live` or `pairing`. */
  private connect(open: (options: PeerLinkOptions) => PeerLink, share?: P1KeyShare, savedRequests: readonly SavedPhoneRequest[] = [], rescueAddress: string | null = null): Link {
    const peer = open({ role: 'phone', identity: this.identity as Identity, write: (state) => this.writeLinkState(link, state) });
    const channel = peer.channel;
    const cosigner: PhoneCoSigner = new PhoneCoSigner({
      send: (message) => channel.send(message),
      sendEarly: (message) => channel.sendEarly(message),
      saveKeyShare: (next) => this.saveKeyShare(link, next),
      saveTaint: (record) => this.saveTaint(record),
      onEvent: (event) => void this.onCosignerEvent(link, event),
      preparedKey: () => this.keys.take(),
      savedRequests,
      rescueAddress,
      ...(share ? { keyShare: share } : {}),
    });
    const link: Link = { peer, cosigner };
    const current = () => link === this.live || link === this.pairing;
    channel.onMessage((message) => {
      if (this.extension && link === this.live) this.extension.lastSeen = Date.now();
      void cosigner.handle(message).then(() => this.persistChannel());
    });
    channel.onEvent((event) => {
      if (!current()) return;
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
    peer.onStatus((status) => {
      if (!current()) return;
      const problem = describeRelayStatus(status);
      if (status.kind === 'failed' && problem) this.error = problem;
      this.changed();
    });
    peer.onNotice((message) => {
      if (current()) this.fail(message);
    });
    return link;
  }

  private goOnline(link: Link): void {
    // The relay's refusals reach the user through onStatus.
    void link.peer.connect().catch(() => undefined);
  }

  private closeLinks(): void {
    for (const link of [this.live, this.pairing]) link?.peer.close();
    this.live = null;
    this.pairing = null;
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
    // Decided before anything changes: a refused link leaves the wallet, its connection and the used offers as they were.
    if (offer.kind !== 'new-wallet') return this.fail(UNSUPPORTED_KIND[offer.kind]);
    if (!this.relayAllowed(offer.relayUrl)) return this.fail(`This phone app does not connect to the relay ${new URL(offer.relayUrl).origin} that this link names (its security policy allows only the relays it was built for). Use the phone app address your extension is set up with.`);
    if (await this.vault.get('keyShare')) return this.fail(`This phone already co-signs the wallet ${this.address ?? ''}; it will not replace that key with a new one. To pair a new wallet instead, unpair first (that deletes this phone's half of the current key).`);
    const used = (await this.vault.get<string[]>('usedOffers')) ?? [];
    const name = relayChannelName(offer);
    if (used.includes(name)) return this.fail('This pairing code was already used. Show a new one in the extension.');
    await this.vault.put('usedOffers', [...used, name]);
    this.pairing?.peer.close();
    this.error = null;
    this.screen = 'pairing';
    this.changed();
    const pairing = this.connect((options) => PeerLink.pairing(options, offer, offer.relayUrl));
    this.pairing = pairing;
    this.goOnline(pairing);
    pairing.peer.channel.answerOffer(offer);
  }

  /** "No" stops only the pairing: the connection of a wallet this phone holds stays as it is. */
  confirmSas(matches: boolean): void {
    const pairing = this.pairing;
    if (!pairing || this.screen !== 'confirm-sas') return;
    if (matches) pairing.peer.channel.confirmSas();
    else {
      pairing.peer.channel.rejectSas();
      pairing.peer.close();
      this.pairing = null;
      this.sas = null;
      this.screen = 'home';
      this.error = 'The codes did not match: pairing stopped. Nothing was changed on this phone.';
    }
    this.changed();
  }

  /** Forgets the pairing and deletes this phone's key share (after the user confirmed). */
  /** The taint record stays: a taint is never cleared (it names the share's key id, so a new wallet is not affected). */
  async unpair(): Promise<void> {
    const vault = this.vault;
    if (!vault) return;
    // The extension learns at once that this phone left (its relay channel is refused from now on).
    await this.live?.peer.retire();
    this.closeLinks();
    await vault.deleteMany(['keyShare', 'channel', 'relay', 'extension', 'requests']);
    this.address = null;
    this.extension = null;
    this.screen = 'home';
    this.changed();
  }

  get unlocked(): boolean {
    return this.vault !== null;
  }

  approve(id: string): void {
    this.live?.cosigner.approve(id);
    this.changed();
  }

  reject(id: string): void {
    this.live?.cosigner.reject(id);
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
    const live = this.live;
    if (!this.vault || !live || !this.taint) return;
    await this.vault.put('rescueAddress', address);
    live.cosigner.setRescueAddress(address);
    this.taint = { ...this.taint, rescueAddress: address };
    this.error = null;
    this.changed();
  }

  private async saveTaint(record: TaintRecord): Promise<void> {
    const vault = this.vault;
    if (!vault) throw new Error('locked');
    await vault.putFirst({ taint: record });
  }

  /**
   * The share of the wallet this phone holds (a taint), or the first share of a pairing. A share
   * of another wallet never replaces a stored one: that would lose the old wallet for good.
   */
  private async saveKeyShare(link: Link, share: P1KeyShare): Promise<void> {
    const vault = this.vault;
    if (!vault || (link !== this.live && link !== this.pairing)) throw new Error('locked');
    const stored = await vault.get<unknown>('keyShare');
    if (stored && !decodeP1KeyShare(stored).publicKey.equals(share.publicKey)) throw new Error('this phone already holds the share of another wallet; it is never overwritten');
    await link.peer.store((state) => vault.putMany({ keyShare: encodeP1KeyShare(share), ...state }));
    if (link === this.pairing) {
      this.live = link;
      this.pairing = null;
    }
  }

  /** The live link's state with what the phone keeps beside it; nothing of a pairing without a key share yet. */
  private async writeLinkState(link: Link, state: LinkState): Promise<void> {
    const vault = this.vault;
    if (!vault) throw new VaultError('locked', 'the phone is locked');
    if (link !== this.live || !link.cosigner.share) return;
    await vault.putMany({ ...state, history: this.history, extension: this.extension, requests: this.savedRequests(link.cosigner) });
  }

  private async persistChannel(): Promise<void> {
    try {
      await this.live?.peer.store();
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

  private async onCosignerEvent(link: Link, event: PhoneEvent): Promise<void> {
    if (event.kind === 'keygen-failed' && link === this.pairing) {
      link.peer.close();
      this.pairing = null;
      this.screen = 'home';
      this.error = `Pairing failed: ${event.message}`;
      return this.changed();
    }
    if (link !== this.live) return;
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
    } else if (event.kind === 'request' || event.kind === 'request-updated') {
      const { request, display, status } = event.request;
      if (!isOpenRequest(status)) this.history = [{ id: request.id, title: display.title, origin: request.origin, at: Date.now(), outcome: status }, ...this.history].slice(0, 100);
      await this.persistChannel();
    }
    this.changed();
  }
}

const UNSUPPORTED_KIND = {
  'add-member': 'This link adds this phone to an existing wallet. This version of the phone app does not support that yet; nothing was changed.',
  recover: 'This link recovers a wallet on this phone. This version of the phone app does not support that yet; nothing was changed.',
} as const;

/** A sentence for the screen; an unexpected error (a lazily loaded part missing offline…) says only that nothing changed. */
function keyFailure(error: unknown): string {
  if (error instanceof PhoneKeyError || error instanceof VaultError) return vaultFailure(error, 'passphrase');
  return 'Something went wrong on this phone; nothing was changed. Try again.';
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
