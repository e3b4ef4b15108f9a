/**
 * A member device of a {2,n} wallet in Node, built from the real code the apps use: PeerLinks over
 * the real relay (pairing with SAS, session keys on every connection), the real reshare driver
 * (ReshareParticipant), the real P2 co-signer (ExtensionCoSigner on the pair view p2PairShare),
 * and the Guard's device-side API (enrolWithGuard, GuardClient). It plays the extension or a
 * phone against a real Guard; the extension's UI around it is not part of it.
 */
import { WebSocket } from 'ws';
import { generateOtp } from './totp.ts';
import { createPairingOffer } from '../../../src/channel/pairing-offer.ts';
import { PeerLink } from '../../../src/channel/peer-link.ts';
import type { WebSocketConstructor } from '../../../src/channel/relay-client.ts';
import type { MemberIdentity } from '../../../src/mpc/member-signature.ts';
import type { ReshareProposal, ReshareRequest } from '../../../src/mpc/reshare.ts';
import { decodeReshareMessage } from '../../../src/mpc/reshare-messages.ts';
import type { EcdsaSignature } from '../../../src/mpc/signature.ts';
import { memberId, p2PairShare, type Member, type WalletShare } from '../../../src/mpc/wallet-share.ts';
import { hexFromBytes } from '../../../src/mpc/wire.ts';
import type { PreparedPaillierKey } from '../../../src/mpc/zk/paillier-modulus.ts';
import { ExtensionCoSigner } from '../../../src/session/extension-cosigner.ts';
import { ReshareParticipant, type ReshareEvent, type ReshareWire } from '../../../src/session/reshare-participant.ts';
import { GuardClient } from '../../../src/guard/guard-client.ts';
import { enrolWithGuard } from '../../../src/guard/guard-enrolment-client.ts';
import type { GuardEvent } from '../../../src/guard/guard-messages.ts';
import { RESHARE_TYPES } from '../../../src/guard/guard-membership.ts';
import type { SigningRequest } from '../../../src/wallet/signing-request.ts';
import type { AppMessage } from '../../../src/session/messages.ts';
import { waitFor } from '../../relay/relay-support.ts';

export const NodeWebSocket = WebSocket as unknown as WebSocketConstructor;
export const FAST_LINK = { keepaliveMs: 1_000, backoff: { initialMs: 20, maxMs: 200 } };

export interface DeviceEnvironment {
  readonly relayUrl: string;
  /** Paillier keys for the pairs this device is P1 of. */
  readonly preparedKey: () => Promise<PreparedPaillierKey>;
}

export class MemberDevice {
  share: WalletShare | null;
  /** Links to other members, by their identity key (hex). */
  readonly links = new Map<string, PeerLink>();
  guard: { link: PeerLink; client: GuardClient; key: string } | null = null;
  /** The co-signer of this device's pair with the Guard (P2), for the current share. */
  cosigner: ExtensionCoSigner | null = null;
  readonly guardEvents: GuardEvent[] = [];
  readonly reshareEvents: ReshareEvent[] = [];
  /** Rewrites what the co-signer sends the Guard (tests play a compromised device with it). */
  tamper: (message: AppMessage) => AppMessage = (message) => message;
  /** Sees each signing message from the Guard before the co-signer does (tests stop the Guard here). */
  beforeGuardSign: ((message: unknown) => Promise<void> | void) | null = null;
  /** A thief's copy of a lost device: it keeps its old share whatever notice comes. */
  ignoresRemoval = false;
  /** The member set this device's user approves as a dealer (null: refuse). */
  approve: (proposal: ReshareProposal) => readonly Member[] | null = (proposal) => proposal.newMembers;
  private participant: ReshareParticipant | null = null;
  private readonly unplaced: { peerKey: string; message: unknown }[] = [];
  /** A device without a share: how a proposal must name it, and the dealers it authenticated. */
  private joining: { self: Member; pinnedDealers: { index: number; identityKey: Uint8Array }[] } | null = null;
  private proposal: ReshareProposal | null = null;
  private totpSecret: string | null = null;

  constructor(
    readonly name: string,
    readonly role: 'extension' | 'phone',
    readonly identity: MemberIdentity,
    share: WalletShare | null,
    private readonly env: DeviceEnvironment,
  ) {
    this.share = share;
    this.refreshCosigner();
  }

  get key(): string {
    return hexFromBytes(this.identity.publicKey);
  }

  get index(): number {
    return this.share?.self ?? -1;
  }

  // ---- linking ------------------------------------------------------------------------------

  /** Pairs two devices through the relay (this one shows the offer), both confirming the SAS. */
  async pairWith(other: MemberDevice): Promise<void> {
    const { offer, ephemeralSecret } = createPairingOffer(this.env.relayUrl, Date.now());
    const mine = PeerLink.pairing({ role: 'extension', identity: this.identity, write: async () => undefined, WebSocket: NodeWebSocket, ...FAST_LINK }, offer, this.env.relayUrl);
    const theirs = PeerLink.pairing({ role: 'phone', identity: other.identity, write: async () => undefined, WebSocket: NodeWebSocket, ...FAST_LINK }, offer, this.env.relayUrl);
    mine.channel.awaitPhone(offer, ephemeralSecret);
    let sas: [string, string] = ['', ''];
    mine.channel.onEvent((event) => event.kind === 'sas' && (sas = [event.sas, sas[1]]));
    theirs.channel.onEvent((event) => event.kind === 'sas' && (sas = [sas[0], event.sas]));
    await mine.connect();
    theirs.channel.answerOffer(offer);
    await theirs.connect();
    await waitFor(() => sas[0] !== '' && sas[1] !== '');
    if (sas[0] !== sas[1]) throw new Error('the SAS differ');
    mine.channel.confirmSas();
    theirs.channel.confirmSas();
    await waitFor(() => mine.channel.currentPhase === 'paired' && theirs.channel.currentPhase === 'paired');
    this.addLink(other.key, mine);
    other.addLink(this.key, theirs);
  }

  private addLink(peerKey: string, link: PeerLink): void {
    this.links.set(peerKey, link);
    link.channel.onMessage((message) => void this.onMessage(peerKey, message));
  }

  /** Enrols with a Guard by its URL and a one-time code; confirms once the Guard proved the code. */
  async enrolGuard(guardUrl: string, code: string): Promise<string> {
    const enrolment = await enrolWithGuard({ guardUrl, code, identity: this.identity, role: this.role, write: async () => undefined, WebSocket: NodeWebSocket, link: FAST_LINK });
    await enrolment.sas;
    await enrolment.guardVerified;
    enrolment.confirm();
    const key = hexFromBytes(await enrolment.paired);
    const client = new GuardClient((message) => enrolment.link.channel.send(message));
    this.guard = { link: enrolment.link, client, key };
    client.onEvent((event) => {
      this.guardEvents.push(event);
      if (event.kind === 'totp-setup') this.totpSecret = new URL(event.uri).searchParams.get('secret');
    });
    this.links.set(key, enrolment.link);
    enrolment.onMessage((message) => void this.onMessage(key, message));
    this.refreshCosigner();
    return key;
  }

  /** The code the user's authenticator app shows now (the TOTP secret came in the setup QR). */
  otp(at = Date.now()): string {
    if (!this.totpSecret) throw new Error(`${this.name} has not seen the TOTP setup`);
    return generateOtp(this.totpSecret, at);
  }

  useTotpSecret(secret: string): void {
    this.totpSecret = secret;
  }

  get totp(): string | null {
    return this.totpSecret;
  }

  // ---- messages -----------------------------------------------------------------------------

  private members(): readonly Member[] {
    return [...(this.proposal?.oldMembers ?? []), ...(this.proposal?.newMembers ?? []), ...(this.share?.wallet.members ?? [])];
  }

  private async onMessage(peerKey: string, message: unknown): Promise<void> {
    const t = (message as { t?: unknown } | null)?.t;
    if (this.guard && peerKey === this.guard.key) {
      if (this.guard.client.handle(message)) return;
      if (typeof t === 'string' && t.startsWith('sign')) {
        await this.beforeGuardSign?.(message);
        return void this.cosigner?.handle(message);
      }
    }
    if ((RESHARE_TYPES as readonly unknown[]).includes(t)) {
      const wire = message as ReshareWire;
      if (wire.t === 'reshare' && (wire.body as { type?: string }).type === 'reshare/proposal') {
        const proposal = decodeReshareMessage(wire.body) as ReshareProposal;
        if (!this.proposal || hexFromBytes(this.proposal.reshareId) !== hexFromBytes(proposal.reshareId)) this.participant = null;
        this.proposal = proposal;
      }
      const isProposal = wire.t === 'reshare' && (wire.body as { type?: string }).type === 'reshare/proposal';
      const from = this.members().find((member) => memberId(member) === peerKey)?.index;
      // A sender this device cannot place yet (its proposal is on its way) waits for the proposal.
      if (from === undefined) return void this.unplaced.push({ peerKey, message });
      await (this.participant ??= this.newParticipant()).handle(wire, from);
      if (isProposal) for (const entry of this.unplaced.splice(0)) await this.onMessage(entry.peerKey, entry.message);
    }
  }

  private send(to: number | 'all', message: ReshareWire): void {
    if (to === 'all') {
      for (const link of this.links.values()) link.channel.send(message);
      return;
    }
    const member = this.members().find((candidate) => candidate.index === to);
    if (member) this.links.get(memberId(member))?.channel.send(message);
  }

  /** This new device will join as `self`; it authenticated these dealers (by their links). */
  expectToJoin(self: Member, dealers: readonly MemberDevice[]): void {
    this.joining = { self, pinnedDealers: dealers.map((dealer) => ({ index: dealer.index, identityKey: dealer.identity.publicKey })) };
  }

  /** Pins the Guard as a dealer of a proposal this new device joins. */
  pinGuardDealer(index: number): void {
    if (!this.joining || !this.guard) throw new Error('expectToJoin first, and link to the Guard');
    this.joining.pinnedDealers.push({ index, identityKey: this.guard.link.channel.peerIdentity as Uint8Array });
  }

  private newParticipant(): ReshareParticipant {
    return new ReshareParticipant({
      identity: this.identity,
      share: this.share,
      ...(this.share === null && this.joining ? { joining: this.joining } : {}),
      send: (to, message) => this.send(to, message),
      approveMembers: async (proposal) => this.approve(proposal),
      preparedKey: this.env.preparedKey,
      block: async (share) => {
        this.share = share;
      },
      storePending: async () => undefined,
      commit: async (next) => {
        this.share = next;
        this.refreshCosigner();
      },
      remove: async () => {
        if (this.ignoresRemoval) return;
        this.share = null;
        this.refreshCosigner();
      },
      onEvent: (event) => {
        this.reshareEvents.push(event);
        if (event.kind === 'proposal') this.proposal = event.proposal;
        if (event.kind === 'committed' || event.kind === 'removed') this.participant = null;
      },
    });
  }

  /** Starts a reshare as its coordinator. */
  propose(request: ReshareRequest): ReshareProposal {
    this.participant = this.newParticipant();
    const proposal = this.participant.propose(request);
    this.proposal = proposal;
    return proposal;
  }

  /** The Guard's member entry once it is a member (its index in the current epoch). */
  guardMember(): Member | null {
    return this.share?.wallet.members.find((member) => member.role === 'guard') ?? null;
  }

  private refreshCosigner(): void {
    const guard = this.guardMember();
    const link = this.guard?.link;
    if (!this.share || !guard || !link) {
      this.cosigner = null;
      return;
    }
    try {
      this.cosigner = new ExtensionCoSigner({ send: (message) => link.channel.send(this.tamper(message)), onKeyShare: async () => undefined, keyShare: p2PairShare(this.share, guard.index) });
    } catch {
      this.cosigner = null;
    }
  }

  /** This device and the Guard sign `request` (the Guard decides by its policy). */
  signWithGuard(request: SigningRequest): Promise<EcdsaSignature> {
    if (!this.cosigner) throw new Error(`${this.name} has no pair with the Guard`);
    return this.cosigner.requestSignature(request);
  }

  /** The decision event the Guard sent for request `id`, once it came. */
  async decision(id: string, count = 1): Promise<Extract<GuardEvent, { kind: 'decision' }>> {
    const decisions = () => this.guardEvents.filter((event): event is Extract<GuardEvent, { kind: 'decision' }> => event.kind === 'decision' && event.id === id);
    await waitFor(() => decisions().length >= count, 20_000);
    return decisions()[count - 1] as Extract<GuardEvent, { kind: 'decision' }>;
  }

  close(): void {
    this.guard?.client.close();
    for (const link of this.links.values()) link.close();
  }
}
