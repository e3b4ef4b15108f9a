/**
 * The phone co-signer's logic, separate from its views: the vault (keyed by the phone's screen
 * lock or a strong passphrase, phone-vault-key.ts), its membership of the wallet
 * (src/session/wallet-member.ts: the member list, adding and removing members, recovery, health,
 * history), one channel per other member (member-channels.ts), and per browser a co-signer (P1,
 * phone-cosigner.ts) with incoming requests, approve/reject and the taint.
 *
 * Pairing links carry their kind (pairing-offer.ts): a new wallet (key generation with the
 * browser), joining a wallet as a new member (the browser coordinates, every dealer's code is
 * compared here), or recovering a wallet in a new browser (this phone coordinates). A Guard link
 * (`https://guard/#guard=…`, shown by the browser) links this phone to the Duet Guard (its SAS
 * compared here); the phone then approves the member set that adds it (docs/guard.md, "In the apps").
 */
import { decodeBase64Url, encodeBase64Url } from '../channel/base64url.ts';
import { ChannelError } from '../channel/channel-error.ts';
import { generateIdentity, type Identity } from '../channel/handshake.ts';
import { startTimeline } from '../channel/latency-marks.ts';
import { decodePairingLink, relayChannelName, type PairingKind, type PairingOffer } from '../channel/pairing-offer.ts';
import type { LinkPath } from '../channel/path-switch.ts';
import type { PeerLink } from '../channel/peer-link.ts';
import { describeRelayStatus } from '../channel/relay-client.ts';
import type { RtcSessionFactory } from '../channel/rtc-session.ts';
import type { LinkState } from '../channel/stored-link-state.ts';
import { accountAddress } from '../mpc/derivation.ts';
import type { P1KeyShare } from '../mpc/key-share.ts';
import { phoneWalletShare } from '../mpc/wallet-share-codec.ts';
import { failuresOf, memberId, p1PairShare, withTaints, type Member, type WalletShare } from '../mpc/wallet-share.ts';
import { hexFromBytes } from '../mpc/wire.ts';
import { decodeGuardLink, formatEnrolmentCode } from '../guard/enrolment-code.ts';
import { describeQueueItem } from '../guard/queue-words.ts';
import { GuardLinks, IDLE_GUARD_LINK, type GuardLinkProgress } from '../session/guard-links.ts';
import { GuardRecovery, type GuardRecoveryView } from '../session/guard-recovery.ts';
import { MemberChannels } from '../session/member-channels.ts';
import type { HistoryEntryWire, MemberCard } from '../session/member-messages.ts';
import { LINK_PREFIX, loadMembership, memberStore, membershipRecords } from '../session/member-vault.ts';
import { parseAppMessage } from '../session/messages.ts';
import { migratePairRecords } from '../session/pair-migration.ts';
import { openSettings } from '../session/settings-record.ts';
import { HEALTH_INTERVAL_MS } from '../session/share-health.ts';
import { isOpenRequest, PhoneCoSigner, type PhoneEvent, type PhoneRequest, type SavedPhoneRequest, type SettledStatus } from '../session/phone-cosigner.ts';
import { WalletMember, type ChangeProgress, type Decision, type MemberState } from '../session/wallet-member.ts';
import type { WeakKdfForTests } from '../vault/test-only-weak-kdf.ts';
import { VaultError, type ScryptCost, type UnlockedVault } from '../vault/vault.ts';
import { parseRescueAddress } from '../wallet/rescue.ts';
import type { DeviceKeyAuthenticator } from './device-key.ts';
import { PaillierKeyPool, type PaillierKeySource } from './paillier-key-pool.ts';
import { generatePassphrase } from './passphrase.ts';
import { PhoneKeyError, PhoneVaultKey, vaultFailure, type NewKeyChoice, type UnlockMethod } from './phone-vault-key.ts';
import type { AttemptStore } from './unlock-throttle.ts';
import type { MemberRow } from '../session/member-row.ts';

export const PHONE_VAULT = 'duet-phone';
/** The phone's count of wrong unlock attempts (unlock-throttle.ts), beside the vault. */
export const PHONE_ATTEMPTS_DB = 'duet-phone-attempts';
/** The app locks itself after this long without a touch or key press. */
export const AUTO_LOCK_MS = 5 * 60_000;
/** What this phone calls itself to the other members. */
export const PHONE_NAME = 'Phone';

/** Settled requests kept (with their answers) so a restarted extension gets the same answer. */
const SETTLED_REQUESTS_KEPT = 20;
const HISTORY_KEPT = 100;

export type PhoneScreen = 'loading' | 'create-key' | 'unlock' | 'upgrade-key' | 'home' | 'pairing' | 'confirm-sas' | 'generating-key' | 'tainted' | 'joining' | 'recovering' | 'removed';

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
  /** The vault's database (default PHONE_VAULT; Node tests run several phones in one process). */
  readonly vaultName?: string;
  /** The page's WebRTC, for a direct path to each member (none: the relay only). */
  readonly rtc?: RtcSessionFactory;
}

export interface HistoryEntry {
  readonly id: string;
  readonly title: string;
  readonly origin: string;
  readonly at: number;
  readonly outcome: SettledStatus | 'changed';
  /** Who made it, when another member did (a pair signing without this phone, a membership change). */
  readonly by?: string;
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
  readonly members: readonly MemberRow[];
  readonly epoch: number | null;
  /** Questions for this phone's user (add or remove a member, a dealer's code, a removal notice). */
  readonly decisions: readonly Decision[];
  /** The change this phone coordinates (a recovery, a removal it started). */
  readonly change: ChangeProgress | null;
  /** A reshare this phone takes part in now (any change), with its step. */
  readonly reshare: { readonly step: string; readonly error: string | null } | null;
  /** While this phone joins a wallet: the dealers it checked so far. */
  readonly joining: { readonly step: string; readonly error: string | null; readonly dealers: readonly MemberCard[]; readonly pinned: readonly string[] } | null;
  /** This phone was removed from the wallet. */
  readonly removed: { readonly members: readonly string[] } | null;
  /** A browser paired for recovery, waiting for the user to start. */
  readonly recovery: { readonly candidate: MemberCard | null } | null;
  /** A recovery of a lost browser with the Guard as the second dealer (its code, its security period). */
  readonly guardRecovery: GuardRecoveryView | null;
  readonly online: boolean;
  /** How this phone's messages reach the browsers it co-signs with: directly (WebRTC) if one of them is, else through the relay. */
  readonly path: LinkPath;
  readonly persistentStorage: boolean | null;
  /** After a taint: whether the record is stored yet, and where rescue transfers may go. */
  readonly taint: { readonly stored: boolean; readonly rescueAddress: string | null; readonly canRemove: boolean } | null;
  /** Linking this phone to the Duet Guard (a Guard link opened or scanned). */
  readonly guard: GuardLinkProgress;
  /** What waits out a delay at the Guard (cancellable from this phone). */
  readonly guardQueue: readonly { readonly guardKey: string; readonly item: string; readonly kind: string; readonly until: number; readonly title: string }[];
}

/** A QR pairing in progress: the link, and for a new wallet the co-signer that runs key generation. */
interface Pairing {
  readonly link: PeerLink;
  readonly kind: PairingKind;
  readonly cosigner: PhoneCoSigner | null;
  /** This phone's user confirmed the code. */
  confirmed: boolean;
  /** Stops the key generation's own message handler once the wallet's channels take over. */
  stopKeygen: (() => void) | null;
}

/** The taint, stored on its own ahead of the share (a failed signature must never be forgotten). */
interface StoredTaint {
  readonly walletId: string;
  readonly taints: WalletShare['wallet']['taints'];
}

export class PhoneController {
  private vault: UnlockedVault | null = null;
  private identity: Identity | null = null;
  private channels: MemberChannels | null = null;
  private guards: GuardLinks | null = null;
  private guardRecovery: GuardRecovery | null = null;
  private member: WalletMember | null = null;
  /** One co-signer (P1) per browser that is a member, by its key. */
  private readonly cosigners = new Map<string, PhoneCoSigner>();
  private pairing: Pairing | null = null;
  /** A browser paired for recovery, until the user starts the change. */
  private recovery: { candidate: string } | null = null;
  /** Sends a fresh proof of this phone's share to the other members while the app is unlocked. */
  private healthTimer: ReturnType<typeof setInterval> | undefined;
  private relayUrl = '';
  private pendingLink: string | null;
  private readonly vaultKey: PhoneVaultKey;
  private readonly relayAllowed: (relayUrl: string) => boolean;
  private readonly now: () => number;
  private screen: PhoneScreen = 'loading';
  private busy = false;
  private unlockMethod: UnlockMethod | null = null;
  private deviceKeyAvailable = false;
  private suggestedPassphrase: string | null = null;
  private error: string | null = null;
  private sas: string | null = null;
  private history: HistoryEntry[] = [];
  private persistentStorage: boolean | null = null;
  private taintStored = true;
  private rescueAddress: string | null = null;
  /** A lock asked for while a taint was not yet stored: it happens once the record is. */
  private lockAfterTaintStored = false;
  /** The settings record a browser of this wallet sent last (handed to a browser that recovers the wallet). */
  private settings: unknown = null;
  private settingsSentTo: string | null = null;
  /** The requests each browser's co-signer kept across a reload (read at unlock). */
  private savedRequests: Record<string, SavedPhoneRequest[]> = {};
  /** A new wallet's share, stored, until key generation finished on the browser too. */
  private newWallet: { share: WalletShare; directory: MemberState['directory'] } | null = null;
  /** The last write of a lock (lock), then the vault's own lock: the next key step waits for it. */
  private locking: Promise<void> = Promise.resolve();
  private readonly keys: PaillierKeyPool;
  private readonly rtc: RtcSessionFactory | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(options: PhoneControllerOptions) {
    this.pendingLink = options.pairingLink;
    this.keys = new PaillierKeyPool(options.paillierKeys);
    this.relayAllowed = options.relayAllowed ?? (() => true);
    this.now = options.now ?? Date.now;
    this.rtc = options.rtc;
    this.vaultKey = new PhoneVaultKey({
      vaultName: options.vaultName ?? PHONE_VAULT,
      deviceKey: options.deviceKey,
      attempts: options.attempts,
      now: this.now,
      ...(options.scryptCost ? { scryptCost: options.scryptCost } : {}),
      ...(options.weakKdfForTests ? { weakKdfForTests: options.weakKdfForTests } : {}),
    });
  }

  // ---- the view -------------------------------------------------------------------------------

  private get share(): WalletShare | null {
    return this.member?.currentShare ?? null;
  }

  view(): PhoneView {
    const share = this.share;
    const memberView = this.member?.view() ?? null;
    const joining = memberView?.joining ?? null;
    const dealers = joining ? joining.dealers.map((key) => joining.members.find((card) => card.identityKey === key) ?? this.cardOf(key)) : [];
    return {
      screen: this.screen,
      busy: this.busy,
      unlockMethod: this.unlockMethod,
      deviceKeyAvailable: this.deviceKeyAvailable,
      suggestedPassphrase: this.suggestedPassphrase,
      error: this.error ?? this.channelProblem(),
      sas: this.sas,
      address: share ? accountAddress(share.wallet.publicKey, share.wallet.chainCode, 0) : null,
      requests: [...this.cosigners.values()].flatMap((cosigner) => cosigner.list().filter((entry) => isOpenRequest(entry.status))),
      history: this.history,
      members: this.memberRows(),
      epoch: share?.wallet.epoch ?? null,
      decisions: memberView?.decisions ?? [],
      change: memberView?.change ?? null,
      reshare: memberView?.reshare && memberView.reshare.step !== 'committed' ? { step: memberView.reshare.step, error: memberView.reshare.error } : null,
      joining: joining ? { step: joining.step, error: joining.error, dealers, pinned: joining.pinned } : null,
      removed: memberView?.removal ? { members: memberView.removal.proposal.newMembers.map((member) => this.cardOf(memberId(member)).name) } : null,
      recovery: this.recovery ? { candidate: this.member?.card(this.recovery.candidate, 'extension') ?? null } : null,
      guardRecovery: this.guardRecovery?.view() ?? null,
      online: [...this.cosigners.keys()].some((key) => this.channels?.status(key).online) || (this.channels?.peers().some((key) => this.channels?.status(key).online) ?? false),
      path: [...this.cosigners.keys()].some((key) => this.channels?.status(key).path === 'direct') ? 'direct' : 'relay',
      persistentStorage: this.persistentStorage,
      taint: this.taintView(),
      guard: this.guards?.progress() ?? IDLE_GUARD_LINK,
      guardQueue: (this.guards?.queue() ?? []).map((entry) => ({ guardKey: entry.guardKey, item: entry.item, kind: entry.kind, until: entry.until, title: describeQueueItem(entry, { now: this.now() }).title })),
    };
  }

  /** Why a channel to another member does not work, in words (the relay refused it, the other device ended it…). */
  private channelProblem(): string | null {
    const channels = this.channels;
    if (!channels) return null;
    for (const key of channels.peers()) {
      const problem = channels.status(key).problem;
      if (problem && channels.relayStatus(key)?.kind === 'failed') return problem;
    }
    return null;
  }

  private cardOf(key: string): MemberCard {
    return this.member?.card(key) ?? { identityKey: key, role: 'phone', name: 'Device' };
  }

  private memberRows(): MemberRow[] {
    const share = this.share;
    if (!share || !this.member) return [];
    const health = this.member.view().health;
    return share.wallet.members.map((member) => {
      const key = memberId(member);
      const self = member.index === share.self;
      const status = this.channels?.status(key);
      return {
        key,
        index: member.index,
        name: this.member?.card(key, member.role).name ?? member.role,
        role: member.role,
        self,
        online: self || (status?.online ?? false),
        path: status?.path ?? 'relay',
        lastSeen: self ? this.now() : (status?.lastSeen ?? null),
        healthAt: self ? this.now() : (health[key] ?? null),
        suspect: failuresOf(share.wallet, member) > 0,
        blocked: share.blocked.includes(member.index),
      };
    });
  }

  /** A browser this phone co-signs with failed a signature's check. */
  private taintedBrowser(): Member | null {
    const share = this.share;
    // The co-signer holds the taint from the first instant; the wallet share once it is stored.
    const inMemory = new Set([...this.cosigners].filter(([, cosigner]) => cosigner.tainted).map(([key]) => key));
    return share?.wallet.members.find((member) => member.role === 'extension' && (failuresOf(share.wallet, member) > 0 || inMemory.has(memberId(member)))) ?? null;
  }

  private taintView(): PhoneView['taint'] {
    const share = this.share;
    const suspect = this.taintedBrowser();
    if (!share || !suspect) return null;
    // Removing the suspect needs two other members that are not suspects (this phone and one more).
    const clean = share.wallet.members.filter((member) => failuresOf(share.wallet, member) === 0 && member.index !== suspect.index);
    return { stored: this.taintStored, rescueAddress: this.rescueAddress, canRemove: clean.length >= 2 && share.wallet.taints.length === 1 };
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

  // ---- the vault ------------------------------------------------------------------------------

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
      await this.locking;
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
      void this.lock();
      this.fail(keyFailure(error));
    }
  }

  /**
   * Closes the channels and forgets everything read from the vault (once a pending taint is
   * stored). The app is locked at once; the promise settles once the vault itself is closed, after
   * the channels' last writes (while a taint record is still being written: once an earlier lock is done).
   */
  lock(): Promise<void> {
    if (!this.taintStored) {
      this.lockAfterTaintStored = true;
      return this.locking;
    }
    // What the channels have not stored yet (a write under way, one deferred until a channel is
    // quiet) is written before the vault closes: a request settled just before the lock stays so.
    const vault = this.vault;
    const lastWrites = vault && this.channels ? this.channels.flush(this.linkStateWriter(vault)) : Promise.resolve();
    this.closeLinks();
    this.locking = lastWrites.catch(() => undefined).then(() => vault?.lock());
    this.vault = null;
    this.identity = null;
    this.sas = null;
    this.history = [];
    this.suggestedPassphrase = null;
    this.rescueAddress = null;
    this.settings = null;
    this.recovery = null;
    this.screen = 'unlock';
    this.changed();
    return this.locking;
  }

  private closeLinks(): void {
    clearInterval(this.healthTimer);
    this.pairing?.link.close();
    this.pairing = null;
    this.guards?.close();
    this.guards = null;
    this.channels?.close();
    this.channels = null;
    this.member = null;
    this.cosigners.clear();
  }

  private async afterUnlock(): Promise<void> {
    const vault = this.vault as UnlockedVault;
    const identity = this.identity as Identity;
    this.history = (await vault.get<HistoryEntry[]>('history')) ?? [];
    this.rescueAddress = (await vault.get<string>('rescueAddress')) ?? null;
    this.settings = (await vault.get<unknown>('settings')) ?? null;
    this.savedRequests = (await vault.get<Record<string, SavedPhoneRequest[]>>('requests/by-member')) ?? {};
    // A phone of the first version: its pair share becomes its wallet share, once.
    const legacyRequests = await vault.get<SavedPhoneRequest[]>('requests');
    const browser = (await vault.get<{ name?: string }>('extension'))?.name ?? 'Browser';
    await migratePairRecords(vault, identity, 'phone', { self: PHONE_NAME, peer: browser }, this.now(), { deletes: ['extension'] }).catch((error: unknown) => {
      this.error = `This phone's wallet could not be moved to the new version: ${error instanceof Error ? error.message : 'unknown error'}`;
    });
    const { state, links } = await loadMembership(vault);
    const firstLink = [...links.values()][0];
    this.relayUrl = firstLink?.relay.relayUrl ?? this.relayUrl;
    this.openChannels();
    const withTaint = await this.applyStoredTaint(state);
    this.guardRecovery = this.newGuardRecovery(vault);
    await this.guardRecovery.load();
    this.openMember(withTaint);
    const { problems } = (this.channels as MemberChannels).resume(links);
    if (problems.size > 0) this.error = `The link to ${[...problems.keys()].map((key) => this.cardOf(key).name).join(', ')} cannot be resumed: ${[...problems.values()][0]} Unpair here and in the extension, then pair again.`;
    this.refreshCosigners(Array.isArray(legacyRequests) ? legacyRequests : null);
    for (const cosigner of this.cosigners.values()) cosigner.resume();
    this.member?.start();
    this.member?.proveHealth();
    this.healthTimer = setInterval(() => this.member?.proveHealth(), HEALTH_INTERVAL_MS);
    this.screen = this.restingScreen();
    this.changed();
    if (this.pendingLink) {
      const link = this.pendingLink;
      this.pendingLink = null;
      await this.pair(link);
    }
  }

  /** A taint stored on its own ahead of the share is folded in (either record makes the pair tainted). */
  private async applyStoredTaint(state: MemberState): Promise<MemberState> {
    const stored = await this.vault?.get<StoredTaint>('taint');
    if (!state.share || !stored || stored.walletId !== hexFromBytes(state.share.wallet.walletId) || !Array.isArray(stored.taints)) return state;
    return { ...state, share: withTaints(state.share, stored.taints) };
  }

  /** The screen to show when nothing is in progress. */
  private restingScreen(): PhoneScreen {
    const view = this.member?.view();
    if (view?.removal) return 'removed';
    if (view?.joining && !view.share) return 'joining';
    if (this.taintedBrowser()) return 'tainted';
    return 'home';
  }

  private openChannels(): void {
    const vault = this.vault as UnlockedVault;
    this.channels = new MemberChannels({
      identity: this.identity as Identity,
      relayUrl: () => this.relayUrl,
      store: {
        // After a lock, only the lock's own last writes (flush) store anything.
        write: (peer, state) => (this.vault === vault ? this.linkStateWriter(vault)(peer, state) : Promise.reject(new VaultError('locked', 'the phone is locked'))),
        remove: (peer) => vault.replace({}, [`${LINK_PREFIX}${peer}`]),
      },
      now: this.now,
      ...(this.rtc ? { direct: { rtc: this.rtc } } : {}),
      onMessage: (peer, message) => this.onLinkMessage(peer, message),
      onSession: (peer) => {
        void this.member?.peerOnline(peer);
        // The Guard's queue events sent while this phone was away are missed: ask for it.
        if (this.isGuard(peer)) void this.guards?.refreshQueue(peer).catch(() => undefined);
      },
      onStatus: () => this.changed(),
      onLinked: (peer) => this.member?.candidateLinked(peer),
    });
    this.guards = new GuardLinks({ identity: this.identity as Identity, role: 'phone', channels: this.channels, onChange: () => this.changed(), now: this.now });
  }

  private newGuardRecovery(vault: UnlockedVault): GuardRecovery {
    const guards = this.guards as GuardLinks;
    return new GuardRecovery({
      records: vault,
      member: () => this.member,
      client: (guardKey) => guards.client(guardKey),
      deviceLink: (guardKey) => guards.deviceLink(guardKey),
      now: this.now,
      onChange: () => this.changed(),
    });
  }

  private openMember(state: MemberState): void {
    const vault = this.vault as UnlockedVault;
    const identity = this.identity as Identity;
    const channels = this.channels as MemberChannels;
    this.member = new WalletMember({
      identity: { secretKey: identity.secretKey, publicKey: identity.publicKey },
      role: 'phone',
      name: PHONE_NAME,
      state,
      links: channels,
      store: memberStore(vault),
      preparedKey: () => this.preparedKey(),
      now: this.now,
      onChange: () => this.onMemberChange(),
      onHistory: (entry, from) => void this.recordHistory(entry, from),
      onSettings: (record) => void this.keepSettings(record),
    });
  }

  private preparedKey() {
    const key = this.keys.take();
    // The next pair of the same reshare (or the next one) gets its key while this one is used.
    this.keys.fill();
    return key;
  }

  private onMemberChange(): void {
    this.refreshCosigners(null);
    void this.guardRecovery?.memberChanged().catch(() => undefined);
    const view = this.member?.view();
    // The Guard this phone linked is a member now: its linking card closes.
    const guardKey = this.guards?.progress().guardKey;
    if (guardKey && view?.share?.wallet.members.some((member) => member.role === 'guard' && memberId(member) === guardKey)) this.guards?.finish();
    const change = view?.change;
    // A recovery this phone coordinated: the new browser gets the settings record once it is a member.
    if (change?.step === 'committed' && change.candidate && this.settings && this.settingsSentTo !== change.candidate.identityKey) {
      this.settingsSentTo = change.candidate.identityKey;
      this.member?.sendSettings(this.settings, change.candidate.identityKey);
    }
    if (change?.step === 'committed' && this.recovery) this.recovery = null;
    if (this.screen === 'home' || this.screen === 'joining' || this.screen === 'tainted' || this.screen === 'removed' || this.screen === 'recovering') {
      this.screen = this.recovery ? 'recovering' : this.restingScreen();
    }
    this.changed();
  }

  // ---- co-signing -----------------------------------------------------------------------------

  /** One co-signer per browser of the wallet, with the pair's share as it is now. */
  private refreshCosigners(savedRequests: readonly SavedPhoneRequest[] | null): void {
    const share = this.share;
    if (!share || !this.channels) {
      for (const cosigner of this.cosigners.values()) cosigner.setKeyShare(null);
      return;
    }
    for (const member of share.wallet.members) {
      if (member.role !== 'extension' || member.index === share.self) continue;
      const key = memberId(member);
      const pairShare = this.pairShare(share, member.index);
      const existing = this.cosigners.get(key);
      if (existing) existing.setKeyShare(pairShare);
      else this.openCosigner(key, pairShare, savedRequests ?? this.savedRequests[key] ?? []);
    }
  }

  private pairShare(share: WalletShare, counterpart: number): P1KeyShare | null {
    try {
      return p1PairShare(share, counterpart);
    } catch {
      // No pair key yet (it is being set up), or the pair is blocked by a removal.
      return null;
    }
  }

  private openCosigner(key: string, share: P1KeyShare | null, saved: readonly SavedPhoneRequest[]): void {
    const cosigner: PhoneCoSigner = new PhoneCoSigner({
      send: (message) => this.channels?.send(key, message),
      saveKeyShare: (next) => this.saveTaintedShare(key, next),
      saveTaint: (record) => this.saveTaint(record.taints),
      onEvent: (event) => void this.onCosignerEvent(key, cosigner, event),
      onPairMismatch: () => void this.member?.peerOnline(key),
      savedRequests: saved,
      rescueAddress: this.rescueAddress,
      ...(share ? { keyShare: share } : {}),
    });
    this.cosigners.set(key, cosigner);
  }

  private onLinkMessage(peer: string, message: unknown): void {
    if (this.guards?.handle(peer, message, this.isGuard(peer))) return;
    const cosigner = this.cosigners.get(peer);
    if (parseAppMessage(message)) {
      // Stored at the co-signer's commit points (onCosignerEvent) and once the channel is quiet (peer-link.ts).
      if (cosigner) void cosigner.handle(message);
    } else void this.member?.receive(peer, message);
  }

  /** The requests each co-signer keeps, and the history, as they are now (stored beside every channel state too). */
  private keptRecords(): Record<string, unknown> {
    const byMember: Record<string, SavedPhoneRequest[]> = {};
    for (const [key, cosigner] of this.cosigners) {
      const saved = cosigner.saved();
      const settled = saved.filter((entry) => !isOpenRequest(entry.status)).slice(-SETTLED_REQUESTS_KEPT);
      byMember[key] = [...saved.filter((entry) => isOpenRequest(entry.status)), ...settled];
    }
    return { 'requests/by-member': byMember, history: this.history };
  }

  /**
   * Writes a channel's state with the requests and history as they are now (taken at this call: a
   * lock takes them before it forgets them). The first version's "requests" record goes with it.
   */
  private linkStateWriter(vault: UnlockedVault): (peer: string, state: LinkState) => Promise<void> {
    const kept = this.keptRecords();
    return (peer, state) => vault.replace({ [`${LINK_PREFIX}${peer}`]: state, ...kept }, ['requests']);
  }

  private async persistRequests(): Promise<void> {
    const vault = this.vault;
    if (!vault) return;
    await vault.replace(this.keptRecords(), ['requests']).catch((error: unknown) => {
      // Locked while writing: the next unlock restores the last stored state, as after a reload.
      if (!(error instanceof VaultError && error.code === 'locked')) throw error;
    });
  }

  private async onCosignerEvent(key: string, cosigner: PhoneCoSigner, event: PhoneEvent): Promise<void> {
    if (event.kind === 'tainted') {
      this.taintStored = event.stored;
      this.screen = 'tainted';
      if (event.stored && this.lockAfterTaintStored) {
        this.lockAfterTaintStored = false;
        // After the answers held back for the record (queued on it, they run first).
        setTimeout(() => void this.lock(), 0);
      }
    } else if (event.kind === 'request' || event.kind === 'request-updated') {
      const { request, display, status } = event.request;
      if (!isOpenRequest(status)) this.history = [{ id: request.id, title: display.title, origin: request.origin, at: this.now(), outcome: status }, ...this.history].slice(0, HISTORY_KEPT);
      if (status === 'signed') this.member?.shareHistory({ id: request.id, kind: 'signature', at: this.now(), by: [this.member.self, key], title: display.title, detail: request.origin });
      // A new request and a settled one (its answer already sent) are stored at once: a reload
      // shows the request again, and never signs again what the browser already holds. The steps
      // between (approved, signing) are stored once the channel is quiet: a storage write in the
      // middle of a co-signing delays its messages (docs/channel.md, "Latency"); lost in a crash,
      // the approval is asked again.
      if (event.kind === 'request' || !isOpenRequest(status)) await this.persistRequests();
      else this.channels?.storeSoon(key);
    }
    void cosigner;
    this.changed();
  }

  /** The taint record by itself, ahead of everything queued (retried by the co-signer until stored). */
  private async saveTaint(taints: WalletShare['wallet']['taints']): Promise<void> {
    const vault = this.vault;
    const share = this.share;
    if (!vault || !share) throw new Error('locked');
    this.taintStored = false;
    await vault.putFirst({ taint: { walletId: hexFromBytes(share.wallet.walletId), taints } satisfies StoredTaint });
    this.taintStored = true;
  }

  /** After the taint record: the wallet share with the taint, and a notice to every member. */
  private async saveTaintedShare(key: string, pairShare: P1KeyShare): Promise<void> {
    const share = this.share;
    const suspect = share?.wallet.members.find((member) => memberId(member) === key);
    if (!share || !suspect || !this.member) throw new Error('locked');
    await this.member.reportTaint(withTaints(share, pairShare.taints), suspect.index);
  }

  approve(id: string): void {
    startTimeline('approve');
    for (const cosigner of this.cosigners.values()) cosigner.approve(id);
    this.changed();
  }

  reject(id: string): void {
    for (const cosigner of this.cosigners.values()) cosigner.reject(id);
    this.changed();
  }

  // ---- pairing --------------------------------------------------------------------------------

  /** A scanned, pasted or opened pairing link (or a Guard link). */
  async pair(link: string): Promise<void> {
    if (!this.vault || !this.identity || !this.channels) {
      this.pendingLink = link;
      return;
    }
    const guardLink = decodeGuardLink(link);
    if (guardLink) return this.linkGuard(guardLink.guardUrl, formatEnrolmentCode(guardLink.code));
    let offer: PairingOffer;
    try {
      offer = decodePairingLink(link, this.now());
    } catch (error) {
      return this.fail(error instanceof ChannelError ? error.message : 'This is not a Duet pairing link.');
    }
    // Decided before anything changes: a refused link leaves the wallet, its channels and the used offers as they were.
    const refusal = this.refusal(offer);
    if (refusal) return this.fail(refusal);
    const used = (await this.vault.get<string[]>('usedOffers')) ?? [];
    const name = relayChannelName(offer);
    if (used.includes(name)) return this.fail('This pairing code was already used. Show a new one in the extension.');
    await this.vault.put('usedOffers', [...used, name]);
    this.pairing?.link.close();
    this.error = null;
    this.screen = 'pairing';
    this.changed();
    this.relayUrl = this.share ? this.relayUrl || offer.relayUrl : offer.relayUrl;
    const peerLink = this.channels.pairingLink(offer, 'phone');
    const pairing: Pairing = { link: peerLink, kind: offer.kind, cosigner: offer.kind === 'new-wallet' ? this.keygenCosigner(peerLink) : null, stopKeygen: null, confirmed: false };
    this.pairing = pairing;
    this.watchPairing(pairing);
    void peerLink.connect().catch(() => undefined);
    peerLink.channel.answerOffer(offer);
  }

  private refusal(offer: PairingOffer): string | null {
    if (!this.relayAllowed(offer.relayUrl)) return `This phone app does not connect to the relay ${new URL(offer.relayUrl).origin} that this link names (its security policy allows only the relays it was built for). Use the phone app address your extension is set up with.`;
    const holds = this.share !== null || this.member?.view().removal !== null;
    const address = this.view().address ?? '';
    if (offer.kind === 'new-wallet' && holds) return `This phone already co-signs the wallet ${address}; it will not replace that key with a new one. To pair a new wallet instead, unpair first (that deletes this phone's part of the current key).`;
    if (offer.kind === 'add-member' && holds) return `This phone is already a member of the wallet ${address}. A phone is a member of one wallet at a time.`;
    if (offer.kind === 'add-member' && this.member?.view().joining) return 'This phone is joining a wallet already: finish that first.';
    if (offer.kind === 'recover' && !this.share) return 'This link recovers a wallet in a new browser, with a phone that is a member of it. This phone holds no wallet.';
    return null;
  }

  private keygenCosigner(link: PeerLink): PhoneCoSigner {
    return new PhoneCoSigner({
      send: (message) => link.channel.send(message),
      // Early only while this phone's user has not confirmed the code: after that the browser may
      // already have moved to the paired channel, and the key goes as an ordinary message once paired.
      sendEarly: (message) => (link.channel.currentPhase === 'paired' || this.pairing?.confirmed !== true ? (link.channel.currentPhase === 'paired' ? link.channel.send(message) : link.channel.sendEarly(message)) : void this.afterPaired(link, message)),
      saveKeyShare: (share) => this.saveNewWallet(link, share),
      saveTaint: async () => undefined,
      onEvent: (event) => this.onKeygenEvent(link, event),
      preparedKey: () => this.preparedKey(),
    });
  }

  private watchPairing(pairing: Pairing): void {
    const { link } = pairing;
    const current = () => this.pairing === pairing;
    link.channel.onEvent((event) => {
      if (!current()) return;
      if (event.kind === 'sas') {
        this.sas = event.sas;
        this.screen = 'confirm-sas';
        // The extension checks the key's proof while both users compare the codes.
        if (pairing.cosigner) void pairing.cosigner.announceKey().catch((error: unknown) => this.fail(error instanceof Error ? error.message : 'The key could not be prepared.'));
      } else if (event.kind === 'paired') {
        void this.paired(pairing, hexFromBytes(event.peerIdentity));
      } else if (event.kind === 'error' && link.channel.currentPhase !== 'paired') {
        this.error = event.error.message;
      }
      this.changed();
    });
    if (pairing.cosigner) pairing.stopKeygen = link.channel.onMessage((message) => void pairing.cosigner?.handle(message));
    link.onStatus((status) => {
      if (!current()) return;
      const problem = describeRelayStatus(status);
      if (status.kind === 'failed' && problem) this.error = problem;
      this.changed();
    });
    link.onNotice((message) => {
      if (current()) this.fail(message);
    });
  }

  /** Both users confirmed the code: key generation, joining, or a recovery to start. */
  private async paired(pairing: Pairing, peer: string): Promise<void> {
    if (pairing.kind === 'new-wallet') {
      this.screen = 'generating-key';
      this.changed();
      return pairing.cosigner?.startKeygen(peer);
    }
    const channels = this.channels as MemberChannels;
    this.pairing = null;
    this.sas = null;
    await channels.adopt(pairing.link);
    if (pairing.kind === 'add-member') {
      await this.member?.beginJoining(peer);
      this.screen = 'joining';
    } else {
      this.recovery = { candidate: peer };
      this.screen = 'recovering';
    }
    this.changed();
  }

  /** Links this phone to the Duet Guard by the device code the browser showed. */
  private async linkGuard(guardUrl: string, code: string): Promise<void> {
    const guards = this.guards as GuardLinks;
    // A phone joining the wallet links to the Guard too when the Guard deals it its share (a recovery).
    if (!this.share && !this.member?.view().joining) return this.fail('This phone holds no wallet: pair it with your browser first, then link the Guard.');
    this.error = null;
    try {
      await guards.enrol(guardUrl, code);
    } catch (error) {
      return this.fail(error instanceof Error ? error.message : 'The Guard could not be linked.');
    }
    this.changed();
  }

  /** The user compared the Guard's code (the browser's Guard link). */
  confirmGuardSas(matches: boolean): void {
    this.guards?.confirmSas(matches);
  }

  private isGuard(peer: string): boolean {
    return this.share?.wallet.members.some((member) => member.role === 'guard' && memberId(member) === peer) ?? false;
  }

  /** Cancels a request (or policy change, or recovery) that waits out its delay at the Guard. */
  async cancelGuardItem(guardKey: string, item: string, code?: string): Promise<void> {
    try {
      await this.guards?.cancelQueued(guardKey, item, code);
    } catch (error) {
      this.fail(error instanceof Error ? error.message : 'The Guard could not cancel it.');
    }
  }

  /** The Guard link's screens close (linked, or failed and read). */
  closeGuard(): void {
    this.guards?.finish();
  }

  /** "No" stops only the pairing: the wallet this phone holds stays as it is. */
  confirmSas(matches: boolean): void {
    const pairing = this.pairing;
    if (!pairing || this.screen !== 'confirm-sas') return;
    if (matches) {
      pairing.confirmed = true;
      pairing.link.channel.confirmSas();
    } else {
      pairing.link.channel.rejectSas();
      pairing.link.close();
      this.pairing = null;
      this.sas = null;
      this.screen = this.restingScreen();
      this.error = 'The codes did not match: pairing stopped. Nothing was changed on this phone.';
    }
    this.changed();
  }

  /** Sends `message` once the pairing of `link` completed (both codes confirmed). */
  private afterPaired(link: PeerLink, message: unknown): void {
    const off = link.channel.onEvent((event) => {
      if (event.kind !== 'paired') return;
      off();
      link.channel.send(message);
    });
  }

  /** The first share of a new wallet (this phone is member 1, the browser member 2), stored with its channel in one write. */
  private async saveNewWallet(link: PeerLink, p1: P1KeyShare): Promise<void> {
    const vault = this.vault;
    const identity = this.identity;
    const peer = link.channel.peerIdentity;
    if (!vault || !identity || !peer || this.pairing?.link !== link) throw new Error('locked');
    if (this.share) throw new Error('this phone already holds the share of another wallet; it is never overwritten');
    const share = phoneWalletShare(p1, { phone: identity.publicKey, extension: peer }, true);
    const directory = [
      { identityKey: memberId({ identityKey: identity.publicKey }), role: 'phone' as const, name: PHONE_NAME, addedAt: this.now() },
      { identityKey: hexFromBytes(peer), role: 'extension' as const, name: 'Browser', addedAt: this.now() },
    ];
    const { puts } = membershipRecords({ share, directory });
    await link.store((state) => vault.replace({ ...puts, [`${LINK_PREFIX}${hexFromBytes(peer)}`]: state }, []));
    this.newWallet = { share, directory };
  }

  /** Key generation finished on both sides: the wallet's channels and co-signer take over the link. */
  private async walletReady(pairing: Pairing): Promise<void> {
    const created = this.newWallet;
    if (!created) return;
    this.newWallet = null;
    pairing.stopKeygen?.();
    this.pairing = null;
    await (this.channels as MemberChannels).adopt(pairing.link);
    this.openMember({ share: created.share, pending: null, last: null, joining: null, removal: null, directory: created.directory });
    this.member?.proveHealth();
    this.refreshCosigners(null);
  }

  private onKeygenEvent(link: PeerLink, event: PhoneEvent): void {
    const pairing = this.pairing;
    if (pairing?.link !== link) return;
    if (event.kind === 'keygen-failed') {
      link.close();
      this.pairing = null;
      this.screen = 'home';
      this.error = `Pairing failed: ${event.message}`;
    } else if (event.kind === 'paired') {
      this.keys.fill();
      this.screen = 'home';
      void this.walletReady(pairing).then(() => this.changed());
    }
    this.changed();
  }

  // ---- membership -----------------------------------------------------------------------------

  /** The user's answer to a question on screen (add or remove a member, a dealer's code, a removal). */
  decide(id: string, yes: boolean): void {
    this.member?.decide(id, yes);
  }

  /**
   * Recovery in a new browser, coordinated by this phone: the browser that paired joins, the lost
   * browsers in `remove` go, and `dealer` (another member: a phone or the Guard) deals with this one.
   */
  async startRecovery(plan: { readonly remove: readonly string[]; readonly dealer: string }): Promise<void> {
    const recovery = this.recovery;
    if (!recovery || !this.member) return;
    this.error = null;
    const dealer = this.share?.wallet.members.find((member) => memberId(member) === plan.dealer);
    // The Guard deals only in a recovery opened at it with the code, after its security period.
    if (dealer?.role === 'guard') {
      try {
        await this.guardRecovery?.begin({ guardKey: plan.dealer, candidate: this.member.card(recovery.candidate, 'extension'), remove: plan.remove });
      } catch (error) {
        this.fail(error instanceof Error ? error.message : 'The Guard could not be asked.');
      }
      return;
    }
    await this.member.startChange({ remove: plan.remove, dealer: plan.dealer, candidate: recovery.candidate });
  }

  /** A step of the recovery with the Guard: a new link for the browser, the code, ask the Guard, finish, reopen, cancel. */
  async guardRecoveryStep(step: 'link' | 'open' | 'refresh' | 'finish' | 'reopen' | 'cancel', code = ''): Promise<void> {
    const recovery = this.guardRecovery;
    if (!recovery) return;
    this.error = null;
    const steps = { link: () => recovery.newDeviceLink(), open: () => recovery.open(code), refresh: () => recovery.refresh(), finish: () => recovery.finish(), reopen: () => recovery.reopen(), cancel: () => recovery.cancel() };
    try {
      await steps[step]();
    } catch (error) {
      this.fail(error instanceof Error ? error.message : 'The Guard could not be asked.');
    }
    this.changed();
  }

  /** "This browser is lost: remove it" (or any member), with another member as the second dealer. */
  async removeMember(key: string, dealer: string): Promise<void> {
    if (!this.member) return;
    this.error = null;
    await this.member.startChange({ remove: [key], dealer });
    this.changed();
  }

  /** Renews every member's key share with `dealer` (same members, same address; old shares deleted). */
  async refreshKeys(dealer: string): Promise<void> {
    if (!this.member) return;
    this.error = null;
    await this.member.startChange({ remove: [], dealer });
    this.changed();
  }

  retryChange(): Promise<void> {
    return this.member?.retryChange() ?? Promise.resolve();
  }

  cancelChange(): void {
    this.member?.cancelChange();
    this.recovery = null;
    this.screen = this.restingScreen();
    this.changed();
  }

  /** Ends the channels of removed members at once (a stolen device), without their receipts. */
  async cutOffRemoved(): Promise<void> {
    await this.member?.cutOffRemoved();
  }

  /** Members that can deal with this phone for a change that removes `removing`. */
  dealerChoices(removing: readonly string[]): MemberRow[] {
    return this.memberRows().filter((row) => !row.self && !row.suspect && !row.blocked && !removing.includes(row.key));
  }

  private async recordHistory(entry: HistoryEntryWire, from: string): Promise<void> {
    const by = entry.by.map((key) => this.cardOf(key).name).join(' + ');
    const recorded: HistoryEntry = { id: entry.id, title: entry.title, origin: entry.detail, at: entry.at, outcome: entry.kind === 'signature' ? 'signed' : 'changed', by };
    this.history = [recorded, ...this.history.filter((known) => known.id !== entry.id)].slice(0, HISTORY_KEPT);
    void from;
    await this.vault?.put('history', this.history).catch(() => undefined);
    this.changed();
  }

  /** The browser's settings record, kept for a recovery (only one a member of this wallet signed). */
  private async keepSettings(record: unknown): Promise<void> {
    const members = this.share?.wallet.members.map(memberId) ?? [];
    try {
      openSettings(record, members);
    } catch {
      return;
    }
    this.settings = record;
    await this.vault?.put('settings', record).catch(() => undefined);
  }

  // ---- leaving --------------------------------------------------------------------------------

  /**
   * Deletes this phone's share and ends its channels (after the user confirmed). The taint record
   * stays: a taint is never cleared (it names the wallet, so a new wallet is not affected).
   */
  async unpair(): Promise<void> {
    const vault = this.vault;
    const channels = this.channels;
    if (!vault || !channels) return;
    // Every other member learns at once that this phone left (its channels are refused from now on).
    for (const peer of channels.peers()) await channels.retire(peer);
    const { state } = await loadMembership(vault);
    await memberStore(vault).write({ share: null, pending: null, last: null, joining: null, removal: null, change: null, approvals: [], directory: [] });
    void state;
    await vault.replace({}, ['requests/by-member', 'requests', 'keyShare', 'channel', 'relay', 'path', 'extension']);
    this.cosigners.clear();
    this.openMember({ share: null, pending: null, last: null, joining: null, removal: null, directory: [] });
    this.screen = 'home';
    this.changed();
  }

  get unlocked(): boolean {
    return this.vault !== null;
  }

  /**
   * After a taint: the address rescue transfers may go to, typed (or scanned) on this phone. It
   * must not be one of this wallet's own addresses.
   */
  async setRescueAddress(text: string): Promise<void> {
    const address = parseRescueAddress(text);
    if (!address) return this.fail('This is not an Ethereum address.');
    if (address === this.view().address) return this.fail("This is the wallet's own address: enter the address of a new wallet.");
    if (!this.vault || !this.taintedBrowser()) return;
    await this.vault.put('rescueAddress', address);
    this.rescueAddress = address;
    for (const cosigner of this.cosigners.values()) cosigner.setRescueAddress(address);
    this.error = null;
    this.changed();
  }
}

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
