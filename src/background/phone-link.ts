/**
 * The production PhoneLink: this browser's membership of the wallet over the end-to-end encrypted
 * relay channels (src/channel), one per other member (src/session/member-channels.ts), and the
 * members' session protocol (src/session/wallet-member.ts).
 *
 * - Pairing by a QR code: a new wallet (key generation with the phone that scans it: the phone is
 *   member 1, this browser member 2), adding the device that scans it (this browser coordinates the
 *   reshare, with a second dealer), or recovering a wallet (this browser joins; a phone of the
 *   wallet coordinates).
 * - Co-signing as P2 with any member that is the P1 of its pair with this browser (phones, the
 *   Guard), through one ExtensionCoSigner per member on the pair's view of the share.
 *
 * Vault records: "identity" (this device's long-term key), the membership records of
 * member-vault.ts (walletShare, member/…, link/<member>), and "pairedKey" (the public key the
 * accounts come from). A browser of the first version has its "keyShare", "channel", "relay" and
 * "path" records moved at the first unlock (pair-migration.ts).
 *
 * Every member's channel opens a direct WebRTC path beside the relay where it can (the offscreen
 * document's WebRTC, `rtc`; the Advanced settings, read at each attempt, apply to every channel).
 */
import { decodeBase64Url, encodeBase64Url } from '../channel/base64url.ts';
import { DEFAULT_DIRECT_SETTINGS } from '../channel/direct-path.ts';
import { generateIdentity, type Identity } from '../channel/handshake.ts';
import { markStep, startTimeline } from '../channel/latency-marks.ts';
import { createPairingOffer, encodePairingLink, type PairingKind } from '../channel/pairing-offer.ts';
import type { PeerLink } from '../channel/peer-link.ts';
import type { WebSocketConstructor } from '../channel/relay-client.ts';
import type { RtcSessionFactory } from '../channel/rtc-session.ts';
import type { P2KeyShare } from '../mpc/key-share.ts';
import { extensionWalletShare, FIRST_PAIR } from '../mpc/wallet-share-codec.ts';
import { failuresOf, memberId, p2PairShare, pairRoles, type Member, type WalletShare } from '../mpc/wallet-share.ts';
import { hexFromBytes } from '../mpc/wire.ts';
import { preparePaillierKey, type PreparedPaillierKey } from '../mpc/zk/paillier-modulus.ts';
import { GuardLinks, IDLE_GUARD_LINK } from '../session/guard-links.ts';
import { GuardRecovery } from '../session/guard-recovery.ts';
import { decodeGuardLink, formatEnrolmentCode } from '../guard/enrolment-code.ts';
import { GuardEnrolError } from '../guard/guard-enrolment-client.ts';
import { MemberChannels } from '../session/member-channels.ts';
import { channelStore, LINK_PREFIX, loadMembership, memberStore, membershipRecords } from '../session/member-vault.ts';
import { parseAppMessage, type AppMessage } from '../session/messages.ts';
import { migratePairRecords } from '../session/pair-migration.ts';
import { HEALTH_INTERVAL_MS } from '../session/share-health.ts';
import { CoSigningFailed, CoSigningRejected, ExtensionCoSigner } from '../session/extension-cosigner.ts';
import { openSettings, signSettings, type SettingsBody } from '../session/settings-record.ts';
import { WalletMember, type MemberState } from '../session/wallet-member.ts';
import type { SigningRequest } from '../wallet/signing-request.ts';
import { pairedKeyFromParts } from './accounts.ts';
import { CoSignerFailedError, CoSignerRejectedError, type CoSignature, type CoSigner, type PhoneStatus } from './co-signer.ts';
import { chooseSecondDealer, IDLE_PAIRING, type GuardDriver, type GuardPanel, type GuardRecoveryDriver, type MembersDriver, type MembersView, type MemberRowView, type PairingDriver, type PairingProgress, type PhoneLink, type PhoneLinkContext, type PhoneLinkFactory } from './pairing.ts';

const IDENTITY_RECORD = 'identity';
/** What this browser calls itself, and a phone it pairs with, until the user renames them. */
export const BROWSER_NAME = 'Browser';
const DEFAULT_PHONE_NAME = 'Phone';

interface StoredIdentity {
  readonly secretKey: string;
  readonly publicKey: string;
}

/** A QR pairing in progress: its link and, for a new wallet, the co-signer that runs key generation. */
interface Pairing {
  readonly kind: PairingKind;
  /** Adding a device that replaces this member (removed in the same reshare). */
  readonly replace: string | null;
  readonly link: PeerLink;
  readonly keygen: ExtensionCoSigner | null;
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

const OFFLINE: PhoneStatus = { reachable: false, lastSeen: null, path: 'relay' };

/** For tests that play a browser in Node (never set by the extension). */
export interface MemberLinksOptions {
  /** A compromised browser: rewrites what its co-signers send. */
  readonly tamper?: (message: AppMessage) => AppMessage;
  /** Pre-generated Paillier keys (test fixtures) for the pairs where this browser is P1. */
  readonly preparedKey?: () => Promise<PreparedPaillierKey>;
}

class RelayMemberLinks implements PhoneLink, PairingDriver, CoSigner, MembersDriver {
  private readonly context: PhoneLinkContext;
  private readonly WebSocketImpl: WebSocketConstructor | undefined;
  private readonly rtc: RtcSessionFactory | undefined;
  private readonly tamper: (message: AppMessage) => AppMessage;
  private readonly preparedKey: () => Promise<PreparedPaillierKey>;
  private identityKey: Identity | null = null;
  private channels: MemberChannels | null = null;
  private guards: GuardLinks | null = null;
  private recovery: GuardRecovery | null = null;
  private member: WalletMember | null = null;
  /** One co-signer per member this browser signs with as P2, by its key. */
  private readonly cosigners = new Map<string, ExtensionCoSigner>();
  private pairingState: Pairing | null = null;
  private current: PairingProgress = IDLE_PAIRING;
  /** Why the stored membership cannot be used (shown on the Devices page), if so. */
  private problem: string | null = null;
  private readonly progressListeners = new Listeners<PairingProgress>();
  private readonly statusListeners = new Listeners<PhoneStatus>();
  private readonly ready: Promise<void>;
  private healthTimer: ReturnType<typeof setInterval> | undefined;
  /** A settings record that arrived while this browser was joining (checked after its commit). */
  private heldSettings: unknown = null;
  private closed = false;

  constructor(context: PhoneLinkContext, WebSocketImpl: WebSocketConstructor | undefined, rtc: RtcSessionFactory | undefined, options: MemberLinksOptions) {
    this.context = context;
    this.WebSocketImpl = WebSocketImpl;
    this.rtc = rtc;
    this.tamper = options.tamper ?? ((message) => message);
    // A browser is P1 only with a browser that joined after it: rare, so its key is made when needed.
    this.preparedKey = options.preparedKey ?? (() => new Promise((resolve, reject) => setTimeout(() => {
      try {
        resolve(preparePaillierKey());
      } catch (error) {
        reject(error);
      }
    }, 0)));
    this.ready = this.open().catch((error: unknown) => {
      this.problem = `Your wallet's records cannot be read: ${error instanceof Error ? error.message : 'unknown error'}`;
    });
  }

  get pairing(): PairingDriver {
    return this;
  }

  get coSigner(): CoSigner {
    return this;
  }

  get members(): MembersDriver {
    return this;
  }

  /** Adding the Duet Guard: its link's steps (GuardLinks), then the reshare that adds it. */
  readonly guard: GuardDriver = {
    progress: () => this.guards?.progress() ?? IDLE_GUARD_LINK,
    enrol: (guardUrl, code) => this.enrolGuard(guardUrl, code),
    confirmSas: (matches) => this.guards?.confirmSas(matches),
    confirmSecondFactor: (code) => this.requireGuards().confirmSecondFactor(code),
    phoneCode: () => this.requireGuards().phoneCode(),
    add: () => this.addGuard(),
    cancel: () => this.guards?.cancel(),
    decision: (id) => this.guards?.decision(id) ?? null,
    enterCode: (id, code) => this.requireGuards().enterCode(id, code),
    panel: () => this.guardPanel(),
    setPolicy: (policy, code) => this.requireGuards().setPolicy(this.requirePanel().guardKey, policy, code),
    cancelQueued: (item, code) => this.requireGuards().cancelQueued(this.requirePanel().guardKey, item, code),
    linkDevice: (link) => this.linkGuardAsDevice(link),
  };

  /** Replacing a lost phone with the Guard as the second dealer (GuardRecovery). */
  readonly guardRecovery: GuardRecoveryDriver = {
    view: () => this.recovery?.view() ?? null,
    newDeviceLink: () => this.requireRecovery().newDeviceLink(),
    open: (code) => this.requireRecovery().open(code),
    refresh: () => this.requireRecovery().refresh(),
    finish: () => this.requireRecovery().finish(),
    reopen: () => this.requireRecovery().reopen(),
    cancel: () => this.requireRecovery().cancel(),
  };

  private requireRecovery(): GuardRecovery {
    if (!this.recovery) throw new CoSignerFailedError('unavailable', this.problem ?? 'Duet is locked.');
    return this.recovery;
  }

  // ---- opening --------------------------------------------------------------------------------

  private async open(): Promise<void> {
    const identity = await this.identity();
    const secrets = this.context.secrets;
    await migratePairRecords(secrets, identity, 'extension', { self: BROWSER_NAME, peer: DEFAULT_PHONE_NAME }, this.context.now());
    const { state, links } = await loadMembership(secrets);
    if (this.closed) return;
    this.channels = new MemberChannels({
      identity,
      relayUrl: () => this.context.relayUrl,
      store: channelStore(secrets),
      now: () => this.context.now(),
      ...(this.WebSocketImpl ? { WebSocket: this.WebSocketImpl } : {}),
      ...(this.rtc ? { direct: { rtc: this.rtc, settings: () => this.context.directPath?.() ?? DEFAULT_DIRECT_SETTINGS } } : {}),
      onMessage: (peer, message) => this.onMessage(peer, message),
      onSession: (peer) => {
        this.context.seen(this.context.now());
        void this.member?.peerOnline(peer);
        // The Guard's queue and policy events sent while this browser was away are missed: ask for them.
        if (this.isGuard(peer)) void Promise.all([this.guards?.refreshQueue(peer), this.guards?.refreshPolicy(peer)]).catch(() => undefined);
      },
      onStatus: () => this.statusChanged(),
      onLinked: (peer) => this.member?.candidateLinked(peer),
    });
    this.guards = new GuardLinks({
      identity,
      role: 'extension',
      channels: this.channels,
      onChange: () => this.context.membersChanged?.(),
      ...(this.WebSocketImpl ? { WebSocket: this.WebSocketImpl } : {}),
      now: () => this.context.now(),
    });
    this.recovery = this.newGuardRecovery(this.guards);
    await this.recovery.load();
    this.openMember(state);
    const { problems } = this.channels.resume(links);
    if (problems.size > 0) this.problem = `The link to your phone cannot be resumed: ${[...problems.values()][0]} Unpair it and pair again.`;
    this.refreshCosigners();
    this.member?.start();
    this.member?.proveHealth();
    if (!this.closed) this.healthTimer = setInterval(() => this.member?.proveHealth(), HEALTH_INTERVAL_MS);
  }

  private newGuardRecovery(guards: GuardLinks): GuardRecovery {
    return new GuardRecovery({
      records: this.context.secrets,
      member: () => this.member,
      client: (guardKey) => guards.client(guardKey),
      deviceLink: (guardKey) => guards.deviceLink(guardKey),
      now: () => this.context.now(),
      onChange: () => this.context.membersChanged?.(),
    });
  }

  private openMember(state: MemberState): void {
    const identity = this.identityKey as Identity;
    const channels = this.channels as MemberChannels;
    this.member = new WalletMember({
      identity: { secretKey: identity.secretKey, publicKey: identity.publicKey },
      role: 'extension',
      name: BROWSER_NAME,
      state,
      links: channels,
      store: memberStore(this.context.secrets),
      preparedKey: this.preparedKey,
      now: () => this.context.now(),
      onChange: () => this.onMemberChange(),
      onSettings: (record) => this.receiveSettings(record),
    });
  }

  private async identity(): Promise<Identity> {
    if (this.identityKey) return this.identityKey;
    const stored = await this.context.secrets.get<StoredIdentity>(IDENTITY_RECORD);
    const secretKey = stored ? decodeBase64Url(stored.secretKey) : null;
    const publicKey = stored ? decodeBase64Url(stored.publicKey) : null;
    if (secretKey && publicKey) return (this.identityKey = { secretKey, publicKey });
    const identity = generateIdentity();
    await this.context.secrets.putMany({ [IDENTITY_RECORD]: { secretKey: encodeBase64Url(identity.secretKey), publicKey: encodeBase64Url(identity.publicKey) } });
    return (this.identityKey = identity);
  }

  private get share(): WalletShare | null {
    return this.member?.currentShare ?? null;
  }

  private onMemberChange(): void {
    this.refreshCosigners();
    const view = this.member?.view();
    // A recovery: this browser just became a member.
    if (this.current.phase === 'joining' && view?.share) {
      const share = view.share;
      void this.context.joined?.(pairedKeyFromParts(share.wallet.publicKey.toBytes(true), share.wallet.chainCode));
      this.setProgress(IDLE_PAIRING);
      const held = this.heldSettings;
      this.heldSettings = null;
      if (held !== null) this.receiveSettings(held);
    }
    if (this.current.phase === 'adding' && (view?.change?.step === 'committed' || view?.change === null)) this.setProgress(IDLE_PAIRING);
    void this.recovery?.memberChanged().catch(() => undefined);
    // The Guard this browser linked is a member now: its enrolment screens close.
    const guardKey = this.guards?.progress().guardKey;
    if (guardKey && view?.share?.wallet.members.some((member) => member.role === 'guard' && memberId(member) === guardKey)) this.guards?.finish();
    this.context.membersChanged?.();
    this.statusChanged();
  }

  private statusChanged(): void {
    this.statusListeners.emit(this.status());
    this.context.membersChanged?.();
  }

  // ---- messages and co-signers ----------------------------------------------------------------

  private onMessage(peer: string, message: unknown): void {
    if (this.guards?.handle(peer, message, this.isGuard(peer))) return;
    const cosigner = this.cosigners.get(peer);
    if (parseAppMessage(message)) {
      if (cosigner) void cosigner.handle(message);
    } else void this.member?.receive(peer, message);
  }

  /** The members this browser signs with as P2, each with the pair's share as it is now. */
  private refreshCosigners(): void {
    const share = this.share;
    for (const member of share?.wallet.members ?? []) {
      if (!share || member.index === share.self || !this.signsWith(share, member)) continue;
      const key = memberId(member);
      const pairShare = this.pairShare(share, member.index);
      const existing = this.cosigners.get(key);
      if (existing) existing.setKeyShare(pairShare);
      else this.cosigners.set(key, new ExtensionCoSigner({ send: (message) => this.channels?.send(key, this.tamper(message)), onKeyShare: async () => undefined, ...(pairShare ? { keyShare: pairShare } : {}) }));
    }
    for (const [key, cosigner] of this.cosigners) if (!share?.wallet.members.some((member) => memberId(member) === key)) cosigner.setKeyShare(null);
  }

  private isGuard(peer: string): boolean {
    return this.share?.wallet.members.some((member) => member.role === 'guard' && memberId(member) === peer) ?? false;
  }

  /** This browser co-signs transactions with members that are the P1 of their pair with it. */
  private signsWith(share: WalletShare, member: Member): boolean {
    const self = share.wallet.members.find((candidate) => candidate.index === share.self) as Member;
    return pairRoles(self, member).p1.index === member.index;
  }

  private pairShare(share: WalletShare, counterpart: number): P2KeyShare | null {
    try {
      return p2PairShare(share, counterpart);
    } catch {
      return null;
    }
  }

  // ---- pairing --------------------------------------------------------------------------------

  progress(): PairingProgress {
    return this.current;
  }

  onProgress(listener: (progress: PairingProgress) => void): () => void {
    return this.progressListeners.add(listener);
  }

  async start(kind: PairingKind = 'new-wallet', replace?: string): Promise<void> {
    await this.ready;
    const channels = this.channels;
    if (!channels) throw new CoSignerFailedError('unavailable', this.problem ?? 'Duet is locked.');
    this.pairingState?.link.close();
    const { offer, ephemeralSecret } = createPairingOffer(this.context.relayUrl, this.context.now(), undefined, kind);
    const link = channels.pairingLink(offer, 'extension');
    const channel = link.channel;
    channel.awaitPhone(offer, ephemeralSecret);
    const keygen = kind === 'new-wallet' ? this.keygenCosigner(link) : null;
    const pairing: Pairing = { kind, replace: replace ?? null, link, keygen };
    this.pairingState = pairing;
    this.setProgress({ phase: 'showing-code', kind, link: encodePairingLink(offer, this.context.phoneAppUrl), sas: null, error: null, expiresAt: offer.expiresAt });
    channel.onEvent((event) => {
      if (this.pairingState !== pairing) return;
      if (event.kind === 'sas') this.setProgress({ ...this.current, phase: 'confirm-sas', sas: event.sas });
      if (event.kind === 'paired') void this.paired(pairing);
      if (event.kind === 'error' && this.current.phase !== 'idle' && channel.currentPhase !== 'paired') this.setProgress({ ...this.current, phase: 'failed', error: event.error.message });
    });
    if (keygen) {
      // The phone's Paillier key and its proof arrive while both users compare the codes.
      channel.onEarlyMessage((message) => void keygen.handleEarly(message));
      const stop = channel.onMessage((message) => {
        if (this.pairingState !== pairing) return stop();
        void keygen.handle(message);
      });
    }
    try {
      await link.connect();
    } catch (error) {
      this.setProgress({ ...IDLE_PAIRING, phase: 'failed', error: error instanceof Error ? error.message : 'The relay cannot be reached.' });
    }
  }

  private keygenCosigner(link: PeerLink): ExtensionCoSigner {
    return new ExtensionCoSigner({
      send: (message) => link.channel.send(message),
      onKeyShare: (share) => this.onNewWallet(link, share),
      onKeygenFailed: (error) => {
        link.close();
        this.pairingState = null;
        this.setProgress({ ...IDLE_PAIRING, phase: 'failed', error: `Pairing failed: ${error.message}` });
      },
    });
  }

  /** Both users confirmed the code. A new wallet: key generation runs. Otherwise the channel becomes a member's. */
  private async paired(pairing: Pairing): Promise<void> {
    if (pairing.kind === 'new-wallet') return this.setProgress({ ...this.current, phase: 'generating-key' });
    const channels = this.channels as MemberChannels;
    const peer = await channels.adopt(pairing.link);
    this.pairingState = null;
    if (pairing.kind === 'recover') {
      this.setProgress({ ...this.current, phase: 'joining', sas: null });
      await this.member?.beginJoining(peer);
      return;
    }
    const remove = pairing.replace ? [pairing.replace] : [];
    const dealer = this.secondDealer(remove);
    const guard = dealer ? null : this.recoveryGuard(remove);
    if (guard) {
      // Only the Guard can deal with this browser: a recovery at the Guard (its code, its security period).
      this.setProgress(IDLE_PAIRING);
      await this.recovery?.begin({ guardKey: guard, candidate: this.member?.card(peer) ?? { identityKey: peer, role: 'phone', name: DEFAULT_PHONE_NAME }, remove });
      return;
    }
    if (!dealer) {
      this.setProgress({ ...IDLE_PAIRING, phase: 'failed', error: 'Adding a device needs a second member of your wallet to deal with this browser: none is available.' });
      return;
    }
    this.setProgress({ ...this.current, phase: 'adding', sas: null });
    await this.member?.startChange({ remove, dealer, candidate: peer });
  }

  private secondDealer(removing: readonly string[]): string | null {
    return chooseSecondDealer(this.view()?.members ?? [], removing);
  }

  /** A Guard of the wallet this browser is linked to, the only member left to deal with it. */
  private recoveryGuard(removing: readonly string[]): string | null {
    const guard = this.view()?.members.find((row) => row.role === 'guard' && !row.suspect && !row.blocked && !removing.includes(row.key));
    return guard && this.channels?.linked(guard.key) ? guard.key : null;
  }

  confirmSas(matches: boolean): void {
    const channel = this.pairingState?.link.channel;
    if (!channel || this.current.phase !== 'confirm-sas') return;
    if (matches) channel.confirmSas();
    else {
      channel.rejectSas();
      this.pairingState?.link.close();
      this.pairingState = null;
      this.setProgress({ ...IDLE_PAIRING, phase: 'failed', error: 'The codes did not match: pairing stopped. Start again.' });
    }
  }

  cancel(): void {
    if (this.current.phase === 'generating-key') return;
    this.pairingState?.link.close();
    this.pairingState = null;
    if (this.current.phase === 'adding') this.member?.cancelChange();
    this.setProgress(IDLE_PAIRING);
  }

  private setProgress(progress: PairingProgress): void {
    this.current = progress;
    this.progressListeners.emit(progress);
  }

  /** The new wallet's first share (this browser is member 2), stored with the channel and the paired key in one write. */
  private async onNewWallet(link: PeerLink, keygenShare: P2KeyShare): Promise<P2KeyShare> {
    const identity = this.identityKey as Identity;
    const phone = link.channel.peerIdentity;
    if (this.pairingState?.link !== link || !phone) throw new CoSignerFailedError('unavailable', 'the pairing was cancelled');
    const share = extensionWalletShare(keygenShare, { phone, extension: identity.publicKey }, true);
    const phoneKey = hexFromBytes(phone);
    const directory = [
      { identityKey: memberId({ identityKey: identity.publicKey }), role: 'extension' as const, name: BROWSER_NAME, addedAt: this.context.now() },
      { identityKey: phoneKey, role: 'phone' as const, name: DEFAULT_PHONE_NAME, addedAt: this.context.now() },
    ];
    const { puts } = membershipRecords({ share, directory });
    await link.store((state) =>
      this.context.completePairing(
        { pairedKey: pairedKeyFromParts(keygenShare.publicKey.toBytes(true), keygenShare.chainCode), deviceName: DEFAULT_PHONE_NAME },
        { ...puts, [`${LINK_PREFIX}${phoneKey}`]: state },
      ),
    );
    this.pairingState = null;
    await (this.channels as MemberChannels).adopt(link);
    this.openMember({ share, pending: null, last: null, joining: null, removal: null, directory });
    this.member?.proveHealth();
    this.refreshCosigners();
    this.setProgress(IDLE_PAIRING);
    return p2PairShare(share, FIRST_PAIR.phone);
  }

  // ---- co-signing -----------------------------------------------------------------------------

  /** The member a request goes to: `via` if it is one this browser signs with, else the default, else any reachable. */
  private route(via: string | null | undefined): string | null {
    const keys = [...this.cosigners.keys()].filter((key) => this.cosigners.get(key)?.share);
    if (via && keys.includes(via)) return via;
    return keys.find((key) => this.channels?.status(key).online) ?? keys[0] ?? null;
  }

  status(via?: string | null): PhoneStatus {
    const key = this.route(via);
    if (!key || !this.channels) return { ...OFFLINE, problem: this.problem };
    const status = this.channels.status(key);
    return { reachable: status.online, lastSeen: status.lastSeen, problem: this.problem ?? status.problem, path: status.path };
  }

  onStatusChange(listener: (status: PhoneStatus) => void): () => void {
    return this.statusListeners.add(listener);
  }

  async sign(request: SigningRequest, signal: AbortSignal, via?: string | null): Promise<CoSignature> {
    await this.ready;
    const key = this.route(via);
    const cosigner = key ? this.cosigners.get(key) : undefined;
    if (!key || !cosigner?.share) {
      if (this.member?.view().removal) throw new CoSignerFailedError('not_paired', 'This browser was removed from the wallet.');
      throw new CoSignerFailedError('not_paired', this.problem ?? (this.share ? 'No device can co-sign with this browser right now: its pair keys are being set up. Try again in a moment.' : 'No phone is paired.'));
    }
    // A relay refusal that waiting cannot cure (the member ended the pairing…): say so now.
    if (this.channels?.relayStatus(key)?.kind === 'failed') throw new CoSignerFailedError('unavailable', this.channels.status(key).problem ?? 'Your phone cannot be reached.');
    signal.throwIfAborted();
    const onAbort = () => cosigner.cancel(request.id, signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      startTimeline('sign-request');
      const signature = await cosigner.requestSignature(request);
      markStep('signature');
      return { ...signature, by: key };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof CoSigningRejected) throw new CoSignerRejectedError(error.message);
      if (error instanceof CoSigningFailed) throw new CoSignerFailedError(error.reason === 'tainted' ? 'tainted' : 'protocol_error', error.message);
      throw error;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  // ---- members --------------------------------------------------------------------------------

  view(): MembersView | null {
    const share = this.share;
    const member = this.member;
    if (!member) return null;
    const memberView = member.view();
    if (!share) return memberView.removal ? { epoch: memberView.removal.proposal.fromEpoch, members: [], pairs: [], decisions: memberView.decisions, change: null, last: null, removed: true } : null;
    const rows: MemberRowView[] = share.wallet.members.map((entry) => {
      const key = memberId(entry);
      const self = entry.index === share.self;
      const status = this.channels?.status(key);
      return {
        key,
        index: entry.index,
        name: member.card(key, entry.role).name,
        role: entry.role,
        self,
        online: self || (status?.online ?? false),
        path: status?.path ?? 'relay',
        lastSeen: self ? this.context.now() : (status?.lastSeen ?? null),
        healthAt: self ? this.context.now() : (memberView.health[key] ?? null),
        suspect: failuresOf(share.wallet, entry) > 0,
        blocked: share.blocked.includes(entry.index),
        coSigns: !self && (this.cosigners.get(key)?.share ?? null) !== null,
        problem: self ? null : (status?.problem ?? null),
      };
    });
    const last = memberView.last;
    const staying = last ? last.proposal.newMembers.filter((entry) => last.proposal.oldMembers.some((old) => old.index === entry.index)).map(memberId) : [];
    return {
      epoch: share.wallet.epoch,
      members: rows,
      pairs: this.pairsOf(share, rows),
      decisions: memberView.decisions,
      change: memberView.change,
      last: last
        ? {
            at: last.at,
            removed: last.proposal.oldMembers.filter((old) => !last.proposal.newMembers.some((entry) => entry.index === old.index)).map((old) => member.card(memberId(old), old.role).name),
            complete: member.removalComplete(),
            waitingFor: staying.filter((key) => !last.receipts.includes(key)).map((key) => member.card(key).name),
          }
        : null,
      removed: false,
    };
  }

  private pairsOf(share: WalletShare, rows: readonly MemberRowView[]): MembersView['pairs'] {
    const pairs: { a: string; b: string; canSign: boolean; why: string | null }[] = [];
    for (let i = 0; i < rows.length; i++) {
      for (let j = i + 1; j < rows.length; j++) {
        const a = rows[i] as MemberRowView;
        const b = rows[j] as MemberRowView;
        const why = a.suspect || b.suspect ? 'a signature with one of them failed' : a.blocked || b.blocked ? 'one of them is being removed' : a.role !== 'extension' && b.role !== 'extension' ? 'two phones (or a phone and the Guard) sign membership changes only' : null;
        const involvesSelf = a.self || b.self;
        const pairKeyMissing = involvesSelf && !why && !(a.self ? b : a).coSigns && share.pairs.every((pair) => pair.counterpart !== (a.self ? b : a).index);
        pairs.push({ a: a.key, b: b.key, canSign: why === null && !pairKeyMissing, why: why ?? (pairKeyMissing ? 'its pair key is being set up' : null) });
      }
    }
    return pairs;
  }

  joiningView(): ReturnType<MembersDriver['joiningView']> {
    const view = this.member?.view();
    if (!view?.joining) return null;
    return { decisions: view.decisions, step: view.joining.step, error: view.joining.error };
  }

  decide(id: string, yes: boolean): void {
    this.member?.decide(id, yes);
  }

  async remove(key: string, dealer: string): Promise<void> {
    await this.member?.startChange({ remove: [key], dealer });
  }

  retry(): Promise<void> {
    return this.member?.retryChange() ?? Promise.resolve();
  }

  async cutOffRemoved(): Promise<void> {
    await this.member?.cutOffRemoved();
  }

  async rename(key: string, name: string): Promise<void> {
    await this.member?.rename(key, name);
  }

  shareSettings(body: SettingsBody): void {
    if (this.identityKey && this.share) this.member?.sendSettings(signSettings(this.identityKey, body, this.context.now()));
  }

  /**
   * A settings record from a member: taken only if a member of this wallet (old or current) signed
   * it. One that reaches a joining browser before its own commit (the coordinator sends it at its
   * commit) is kept and checked once this browser is a member.
   */
  private receiveSettings(record: unknown): void {
    const view = this.member?.view();
    if (!view?.share) {
      this.heldSettings = record;
      return;
    }
    const members = [...(view?.share?.wallet.members ?? []), ...(view?.last?.proposal.oldMembers ?? [])].map(memberId);
    try {
      this.context.settings?.(openSettings(record, members));
    } catch {
      // A record nobody of this wallet signed (or a damaged one) changes nothing.
    }
  }

  shareHistory(entry: { readonly id: string; readonly title: string; readonly detail: string; readonly with: string }): void {
    const member = this.member;
    if (member) member.shareHistory({ id: entry.id, kind: 'signature', at: this.context.now(), by: [member.self, entry.with], title: entry.title, detail: entry.detail });
  }

  // ---- the Duet Guard ---------------------------------------------------------------------------

  private requireGuards(): GuardLinks {
    if (!this.guards) throw new CoSignerFailedError('unavailable', this.problem ?? 'Duet is locked.');
    return this.guards;
  }

  private async enrolGuard(guardUrl: string, code: string): Promise<void> {
    await this.ready;
    if (!this.share) throw new CoSignerFailedError('not_paired', 'Pair your phone first: the Guard joins a wallet with two devices.');
    await this.requireGuards().enrol(guardUrl, code);
  }

  /** The Guard that is a member, else the one being linked once its channel is adopted. */
  private guardPanel(): GuardPanel | null {
    const guards = this.guards;
    if (!guards) return null;
    const member = this.share?.wallet.members.find((candidate) => candidate.role === 'guard');
    const progress = guards.progress();
    const linking = ['second-factor', 'phone-code', 'linked'].includes(progress.step) ? progress.guardKey : null;
    const guardKey = member ? memberId(member) : linking;
    if (!guardKey) return null;
    return { guardKey, member: member !== undefined, policy: guards.policy(guardKey), queue: guards.queue().filter((entry) => entry.guardKey === guardKey) };
  }

  private requirePanel(): GuardPanel {
    const panel = this.guardPanel();
    if (!panel) throw new CoSignerFailedError('not_paired', 'Link a Duet Guard first.');
    return panel;
  }

  /** A joining browser links to the Guard that deals it its share, by the device code its coordinator showed. */
  private async linkGuardAsDevice(link: string): Promise<void> {
    await this.ready;
    if (!this.member?.view().joining) throw new CoSignerFailedError('not_paired', 'Only a browser joining a wallet links to the Guard this way: pair with your phone first.');
    const decoded = decodeGuardLink(link);
    if (!decoded) throw new GuardEnrolError('bad_code', 'This is not a Guard link (https://…#guard=…).');
    await this.requireGuards().enrol(decoded.guardUrl, formatEnrolmentCode(decoded.code), true);
  }

  /** The second dealer is a phone of the wallet (linked to the Guard by its device code). */
  private async addGuard(): Promise<void> {
    const guardKey = this.requireGuards().progress().guardKey;
    if (!guardKey) throw new CoSignerFailedError('not_paired', 'Link the Guard first (its address and code).');
    const phone = this.view()?.members.find((row) => row.role === 'phone' && !row.suspect && !row.blocked && row.online) ?? this.view()?.members.find((row) => row.role === 'phone' && !row.suspect && !row.blocked);
    if (!phone) throw new CoSignerFailedError('not_paired', 'Adding the Guard needs a phone of your wallet as the second dealer.');
    await this.member?.addGuard({ guard: guardKey, dealer: phone.key });
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  async forget(): Promise<void> {
    await this.ready;
    // Every member learns at once that this browser left (its channels are refused from now on).
    for (const peer of this.channels?.peers() ?? []) await this.channels?.retire(peer);
    this.pairingState?.link.close();
    this.pairingState = null;
    await memberStore(this.context.secrets).write({ share: null, pending: null, last: null, joining: null, removal: null, change: null, approvals: [], directory: [] });
    await this.context.secrets.replace({}, ['keyShare', 'channel', 'relay', 'path']);
    this.cosigners.clear();
    this.openMember({ share: null, pending: null, last: null, joining: null, removal: null, directory: [] });
    this.setProgress(IDLE_PAIRING);
    this.statusChanged();
  }

  directPathChanged(): void {
    this.channels?.refreshDirectPath();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.healthTimer);
    this.pairingState?.link.close();
    this.pairingState = null;
    this.guards?.close();
    this.recovery?.close();
    this.channels?.close();
  }
}

/**
 * The relay-backed links; `WebSocketImpl` defaults to the global WebSocket (service worker), `rtc`
 * opens the direct path of each member's channel (the offscreen document's WebRTC; none: the relay only).
 */
export function relayPhoneLinks(WebSocketImpl?: WebSocketConstructor, rtc?: RtcSessionFactory, options: MemberLinksOptions = {}): PhoneLinkFactory {
  return (context) => new RelayMemberLinks(context, WebSocketImpl, rtc, options);
}
