/**
 * The phone co-signer's logic (P1), separate from its views: the vault (keyed by the phone's
 * screen lock or a strong passphrase, phone-vault-key.ts), pairing from a scanned link, key
 * generation, incoming requests with approve/reject, taint, history.
 */
import { decodeBase64Url, encodeBase64Url } from '../channel/base64url.ts';
import { ChannelError } from '../channel/channel-error.ts';
import { generateIdentity, type Identity } from '../channel/handshake.ts';
import { decodePairingLink, relayChannelName } from '../channel/pairing-offer.ts';
import { RelayClient, type RelayClientState } from '../channel/relay-client.ts';
import { storeLinkState } from '../channel/stored-link-state.ts';
import { SecureChannel, type SecureChannelState } from '../channel/secure-channel.ts';
import { accountAddress } from '../mpc/derivation.ts';
import { decodeP1KeyShare, encodeP1KeyShare } from '../mpc/key-share-codec.ts';
import type { P1KeyShare } from '../mpc/key-share.ts';
import { isOpenRequest, PhoneCoSigner, type PhoneEvent, type PhoneRequest, type SavedPhoneRequest, type SettledStatus } from '../session/phone-cosigner.ts';
import type { WeakKdfForTests } from '../vault/test-only-weak-kdf.ts';
import { VaultError, type ScryptCost, type UnlockedVault } from '../vault/vault.ts';
import type { DeviceKeyAuthenticator } from './device-key.ts';
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
}

/** One connection to an extension: the relay client, the encrypted channel over it, the co-signer. */
interface Link {
  readonly relay: RelayClient;
  readonly channel: SecureChannel;
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
  private readonly listeners = new Set<() => void>();

  constructor(options: PhoneControllerOptions) {
    this.pendingLink = options.pairingLink;
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
      online: this.live?.relay.isOnline ?? false,
      persistentStorage: this.persistentStorage,
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

  /** Closes the connection and forgets everything read from the vault. */
  lock(): void {
    this.closeLinks();
    this.vault?.lock();
    this.vault = null;
    this.identity = null;
    this.sas = null;
    this.address = null;
    this.extension = null;
    this.history = [];
    this.suggestedPassphrase = null;
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
      const share = decodeP1KeyShare(shareJson);
      this.address = accountAddress(share.publicKey, share.chainCode, 0);
      this.screen = share.tainted ? 'tainted' : 'home';
      const savedRequests = (await vault.get<SavedPhoneRequest[]>('requests')) ?? [];
      const live = this.connect(relayState.relayUrl, relayState.channelId, decodeBase64Url(channelState.channelId) as Uint8Array, channelState, relayState, share, savedRequests);
      this.live = live;
      // A restored channel sends nothing until a fresh state is stored (no AEAD nonce is reused).
      await this.persistChannel();
      live.cosigner.resume();
      this.goOnline(live);
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

  private connect(relayUrl: string, channelName: string, channelId: Uint8Array, channelState: SecureChannelState | undefined, relayState: RelayClientState | undefined, share: P1KeyShare | undefined, savedRequests: readonly SavedPhoneRequest[] = []): Link {
    const relay = new RelayClient({ relayUrl, channelId: channelName, role: 'phone', ackWhenSaved: true, ...(relayState ? { state: relayState } : {}) });
    const channel = new SecureChannel({ transport: relay, role: 'phone', channelId, identity: this.identity as Identity, ...(channelState ? { state: channelState } : {}) });
    const cosigner: PhoneCoSigner = new PhoneCoSigner({
      send: (message) => channel.send(message),
      saveKeyShare: (next) => this.saveKeyShare(link, next),
      onEvent: (event) => void this.onCosignerEvent(link, event),
      savedRequests,
      ...(share ? { keyShare: share } : {}),
    });
    const link: Link = { relay, channel, cosigner };
    channel.onMessage((message) => {
      if (this.extension && link === this.live) this.extension.lastSeen = Date.now();
      void cosigner.handle(message).then(() => this.persistChannel());
    });
    channel.onEvent((event) => {
      if (link !== this.live && link !== this.pairing) return;
      if (event.kind === 'sas') {
        this.sas = event.sas;
        this.screen = 'confirm-sas';
      } else if (event.kind === 'paired') {
        this.screen = 'generating-key';
        cosigner.startKeygen();
      } else if (event.kind === 'error') {
        this.error = event.error.message;
      }
      this.changed();
    });
    relay.onStatus(() => this.changed());
    return link;
  }

  private goOnline(link: Link): void {
    void link.relay.connect().catch((error: unknown) => {
      if (link === this.live || link === this.pairing) this.fail(error instanceof Error ? error.message : 'The relay cannot be reached.');
    });
  }

  private closeLinks(): void {
    for (const link of [this.live, this.pairing]) link?.relay.close();
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
    this.pairing?.relay.close();
    this.error = null;
    this.screen = 'pairing';
    this.changed();
    const pairing = this.connect(offer.relayUrl, name, offer.channelId, undefined, undefined, undefined);
    this.pairing = pairing;
    this.goOnline(pairing);
    pairing.channel.answerOffer(offer);
  }

  /** "No" stops only the pairing: the connection of a wallet this phone holds stays as it is. */
  confirmSas(matches: boolean): void {
    const pairing = this.pairing;
    if (!pairing || this.screen !== 'confirm-sas') return;
    if (matches) pairing.channel.confirmSas();
    else {
      pairing.channel.rejectSas();
      pairing.relay.close();
      this.pairing = null;
      this.sas = null;
      this.screen = 'home';
      this.error = 'The codes did not match: pairing stopped. Nothing was changed on this phone.';
    }
    this.changed();
  }

  /** Forgets the pairing and deletes this phone's key share (after the user confirmed). */
  async unpair(): Promise<void> {
    const vault = this.vault;
    if (!vault) return;
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
   * The share of the wallet this phone holds (a taint), or the first share of a pairing. A share
   * of another wallet never replaces a stored one: that would lose the old wallet for good.
   */
  private async saveKeyShare(link: Link, share: P1KeyShare): Promise<void> {
    const vault = this.vault;
    if (!vault || (link !== this.live && link !== this.pairing)) throw new Error('locked');
    const stored = await vault.get<unknown>('keyShare');
    if (stored && !decodeP1KeyShare(stored).publicKey.equals(share.publicKey)) throw new Error('this phone already holds the share of another wallet; it is never overwritten');
    await storeLinkState(link.channel, link.relay, (state) => vault.putMany({ keyShare: encodeP1KeyShare(share), ...state }));
    if (link === this.pairing) {
      this.live = link;
      this.pairing = null;
    }
  }

  private async persistChannel(): Promise<void> {
    const { vault, live } = this;
    if (vault && live?.cosigner.share) {
      const { cosigner } = live;
      try {
        await storeLinkState(live.channel, live.relay, (state) => vault.putMany({ ...state, history: this.history, extension: this.extension, requests: this.savedRequests(cosigner) }));
      } catch (error) {
        // Locked while writing: the next unlock restores the last stored state, as after a reload.
        if (error instanceof VaultError && error.code === 'locked') return;
        throw error;
      }
    }
  }

  /** Open requests, and the latest settled ones with their answers. */
  private savedRequests(cosigner: PhoneCoSigner): SavedPhoneRequest[] {
    const saved = cosigner.saved();
    const settled = saved.filter((entry) => !isOpenRequest(entry.status)).slice(-SETTLED_REQUESTS_KEPT);
    return [...saved.filter((entry) => isOpenRequest(entry.status)), ...settled];
  }

  private async onCosignerEvent(link: Link, event: PhoneEvent): Promise<void> {
    if (link !== this.live) return;
    if (event.kind === 'paired') {
      this.address = event.address;
      this.extension = { name: 'Browser extension', pairedAt: Date.now(), lastSeen: Date.now() };
      this.screen = 'home';
      await this.persistChannel();
    } else if (event.kind === 'tainted') {
      this.screen = 'tainted';
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
