/**
 * A device's links with the Duet Guard, the same code in the extension's service worker and the
 * phone app (docs/guard.md, "In the apps"):
 *
 *   enrol(url, code)        GET /v1/guard, the offer, POST /v1/enrol           step connecting
 *                           (asDevice: a device code another device showed; nothing to set up after)
 *   the Guard proved the code over the SAS                                    step confirm-sas
 *   confirmSas(true)        the channel is adopted as the Guard's member channel  step linking
 *   browser: {op:"totp-setup"} → the otpauth URI to show as a QR code         step second-factor
 *   confirmSecondFactor(c)  {op:"totp-confirm", code}; then {op:"device-code"} step phone-code
 *   phone: nothing more (its Guard's second factor is the browser's)          step linked
 *
 * Then the browser proposes the reshare that adds the Guard (WalletMember.addGuard). Operations
 * and events go through one GuardClient per Guard; `handle` takes the Guard's replies and events
 * out of the member channel's messages. The TOTP URI holds the second factor's secret: it is kept
 * in memory only, until the first code is confirmed, and never logged or stored.
 */
import type { Identity } from '../channel/handshake.ts';
import type { PairingOffer } from '../channel/pairing-offer.ts';
import type { PeerLink, PeerLinkOptions } from '../channel/peer-link.ts';
import type { WebSocketConstructor } from '../channel/relay-client.ts';
import { encodeGuardLink, parseEnrolmentCode } from '../guard/enrolment-code.ts';
import type { DecisionReason } from '../guard/decision-reasons.ts';
import { GuardClient, GuardRequestError } from '../guard/guard-client.ts';
import { decodeQueueItems, isShowableTime, type QueueItem } from '../guard/guard-messages.ts';
import { enrolWithGuard, GuardEnrolError, type GuardEnrolment } from '../guard/guard-enrolment-client.ts';
import { decodePolicy, encodePolicy, type Policy } from '../guard/policy.ts';

export type GuardLinkStep = 'idle' | 'connecting' | 'confirm-sas' | 'linking' | 'second-factor' | 'phone-code' | 'linked' | 'failed';

export interface GuardLinkProgress {
  readonly step: GuardLinkStep;
  readonly guardUrl: string | null;
  /** The six digits to compare with the ones the Guard prints. */
  readonly sas: string | null;
  /** The Guard's identity key (hex), pinned once linked. */
  readonly guardKey: string | null;
  /** otpauth:// for any authenticator app, shown as a QR code until the first code is confirmed. */
  readonly totpUri: string | null;
  /** The link the phone opens (a QR code), and when its code expires (Unix ms). */
  readonly phoneLink: string | null;
  readonly expiresAt: number | null;
  readonly error: string | null;
}

/** The Guard's decision on a signing request (guard-event "decision"), for the approval window. */
export interface GuardDecision {
  readonly guardKey: string;
  readonly verdict: 'sign' | 'second_factor' | 'delay' | 'refuse';
  readonly reasons: readonly DecisionReason[];
  readonly until: number | null;
}

/** A Guard's policy and its pending change (the `policy` operation and event), decoded. */
export interface GuardPolicyState {
  readonly policy: Policy;
  readonly pending: { readonly id: string; readonly policy: Policy; readonly requestedAt: number; readonly effectiveAt: number } | null;
}

/** The Guard's {policy, pending} as sent; a malformed one is refused (null). */
function decodePolicyState(value: { readonly policy: unknown; readonly pending: unknown }): GuardPolicyState | null {
  try {
    const pending = value.pending as { id?: unknown; policy?: unknown; requestedAt?: unknown; effectiveAt?: unknown } | null;
    if (pending !== null && (typeof pending !== 'object' || typeof pending.id !== 'string' || !isShowableTime(pending.requestedAt) || !isShowableTime(pending.effectiveAt))) return null;
    return {
      policy: decodePolicy(value.policy),
      pending: pending ? { id: pending.id as string, policy: decodePolicy(pending.policy), requestedAt: pending.requestedAt as number, effectiveAt: pending.effectiveAt as number } : null,
    };
  } catch {
    return null;
  }
}

/** Decisions kept (the latest requests'); older ones are dropped. */
const MAX_DECISIONS = 64;

export const IDLE_GUARD_LINK: GuardLinkProgress = { step: 'idle', guardUrl: null, sas: null, guardKey: null, totpUri: null, phoneLink: null, expiresAt: null, error: null };

export interface GuardLinkChannels {
  pairingLink(offer: PairingOffer, role: PeerLinkOptions['role']): PeerLink;
  adopt(link: PeerLink): Promise<string>;
  send(peer: string, message: unknown): boolean;
}

export interface GuardLinksOptions {
  readonly identity: Identity;
  readonly role: 'extension' | 'phone';
  readonly channels: GuardLinkChannels;
  readonly onChange: () => void;
  readonly WebSocket?: WebSocketConstructor;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly timings?: Pick<PeerLinkOptions, 'keepaliveMs' | 'backoff'>;
}

function reason(error: unknown): string {
  return error instanceof GuardEnrolError || error instanceof GuardRequestError || error instanceof Error ? error.message : 'the Guard could not be linked';
}

export class GuardLinks {
  private readonly options: GuardLinksOptions;
  private readonly clients = new Map<string, GuardClient>();
  private readonly decisions = new Map<string, GuardDecision>();
  /** What waits out a delay at each Guard (its latest queue event or answer), by Guard key. */
  private readonly queues = new Map<string, readonly QueueItem[]>();
  /** Each Guard's policy and pending change (its latest policy event or answer), by Guard key. */
  private readonly policies = new Map<string, GuardPolicyState>();
  private enrolment: GuardEnrolment | null = null;
  private current: GuardLinkProgress = IDLE_GUARD_LINK;

  constructor(options: GuardLinksOptions) {
    this.options = options;
  }

  progress(): GuardLinkProgress {
    return this.current;
  }

  /** The client of the Guard with this key (made on first use). */
  client(guardKey: string): GuardClient {
    let client = this.clients.get(guardKey);
    if (!client) {
      client = new GuardClient((message) => {
        if (!this.options.channels.send(guardKey, message)) throw new GuardRequestError('timeout', 'there is no link to the Guard');
      });
      this.track(guardKey, client);
    }
    return client;
  }

  private track(guardKey: string, client: GuardClient): void {
    this.clients.set(guardKey, client);
    client.onEvent((event) => {
      if (event.kind === 'queue') this.setQueue(guardKey, event.items);
      if (event.kind === 'policy') this.setPolicyState(guardKey, event);
      if (event.kind !== 'decision') return;
      this.decisions.delete(event.id);
      this.decisions.set(event.id, { guardKey, verdict: event.verdict, reasons: event.reasons, until: event.until ?? null });
      for (const id of this.decisions.keys()) if (this.decisions.size > MAX_DECISIONS) this.decisions.delete(id);
      this.options.onChange();
    });
  }

  /** Everything delayed at the Guards this device is linked to (each item with its Guard's key). */
  queue(): readonly (QueueItem & { readonly guardKey: string })[] {
    return [...this.queues].flatMap(([guardKey, items]) => items.map((item) => ({ ...item, guardKey })));
  }

  /** Asks the Guard for its queue (when its channel comes online: events sent meanwhile were missed). */
  async refreshQueue(guardKey: string): Promise<void> {
    const answer = await this.client(guardKey).request<{ items?: unknown } | null>('queue');
    this.setQueue(guardKey, answer?.items);
  }

  /** A malformed queue (not a list, an item without a showable time…) is dropped: the last good one stays. */
  private setQueue(guardKey: string, value: unknown): void {
    const items = decodeQueueItems(value);
    if (!items) return;
    this.queues.set(guardKey, items);
    this.options.onChange();
  }

  /** Cancels a delayed item at its Guard (any device of the wallet may; one a recovery removes needs the code). */
  async cancelQueued(guardKey: string, item: string, code?: string): Promise<void> {
    if (!this.queues.get(guardKey)?.some((entry) => entry.item === item)) throw new GuardEnrolError('not_ready', 'nothing of that name waits at the Guard');
    await this.client(guardKey).request('cancel', code ? { item, code: code.trim() } : { item });
    await this.refreshQueue(guardKey);
  }

  private setPolicyState(guardKey: string, value: { readonly policy: unknown; readonly pending: unknown }): void {
    const state = decodePolicyState(value);
    if (!state) return;
    this.policies.set(guardKey, state);
    this.options.onChange();
  }

  /** The Guard's policy and pending change as last heard (null: not asked yet). */
  policy(guardKey: string): GuardPolicyState | null {
    return this.policies.get(guardKey) ?? null;
  }

  /** Asks the Guard for its policy (when its channel comes online, and once linked). */
  async refreshPolicy(guardKey: string): Promise<void> {
    this.setPolicyState(guardKey, await this.client(guardKey).request<{ policy: unknown; pending: unknown }>('policy'));
  }

  /**
   * Sends a new policy (`code`: the authenticator's, for a loosening). The Guard applies a
   * tightening at once and a loosening after its delay (then `effectiveAt`); its typed errors
   * (code_required, wrong_code, bad_policy) reach the caller.
   */
  async setPolicy(guardKey: string, policy: Policy, code?: string): Promise<{ applied: 'now' } | { applied: 'after-delay'; effectiveAt: number }> {
    if (code !== undefined && !/^\d{6}$/.test(code.trim())) throw new GuardEnrolError('bad_code', 'the code is the 6 digits your authenticator app shows');
    const result = await this.client(guardKey).request<{ applied: 'now' } | { applied: 'after-delay'; effectiveAt: number }>('policy-set', { policy: encodePolicy(policy), ...(code !== undefined ? { code: code.trim() } : {}) });
    await Promise.all([this.refreshPolicy(guardKey), this.refreshQueue(guardKey)]);
    return result;
  }

  /** The Guard's decision on signing request `id`, once it came. */
  decision(id: string): GuardDecision | null {
    return this.decisions.get(id) ?? null;
  }

  /** The code of the authenticator app for a request the Guard asked it for; then it signs. */
  async enterCode(id: string, code: string): Promise<void> {
    const decision = this.decisions.get(id);
    if (!decision || decision.verdict !== 'second_factor') throw new GuardEnrolError('not_ready', 'the Guard asks no code for this request');
    if (!/^\d{6}$/.test(code.trim())) throw new GuardEnrolError('bad_code', 'the code is the 6 digits your authenticator app shows');
    await this.client(decision.guardKey).request('code', { id, code: code.trim() });
  }

  /** A message over `peer`'s member channel: true if it was a Guard's reply or event (taken here). */
  handle(peer: string, message: unknown, isGuard: boolean): boolean {
    if (!isGuard && !this.clients.has(peer)) return false;
    return this.client(peer).handle(message);
  }

  private set(progress: Partial<GuardLinkProgress>): void {
    this.current = { ...this.current, ...progress };
    this.options.onChange();
  }

  private failed(error: unknown): void {
    this.enrolment?.link.close();
    this.enrolment = null;
    this.set({ ...IDLE_GUARD_LINK, step: 'failed', guardUrl: this.current.guardUrl, error: reason(error) });
  }

  /**
   * Links this device to the Guard at `guardUrl` with the code it printed (or its device code);
   * resolves once the SAS is on screen (step confirm-sas) or the enrolment failed (step failed).
   */
  async enrol(guardUrl: string, code: string, asDevice = false): Promise<void> {
    if (this.current.step !== 'idle' && this.current.step !== 'failed' && this.current.step !== 'linked') throw new GuardEnrolError('busy', 'a Guard is being linked already: finish or cancel that first');
    if (!parseEnrolmentCode(code)) throw new GuardEnrolError('bad_code', 'this is not an enrolment code (16 letters and digits, as the Guard printed it)');
    let url: URL;
    try {
      url = new URL(guardUrl);
    } catch {
      throw new GuardEnrolError('bad_url', 'the Guard\'s address is not a URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new GuardEnrolError('bad_url', 'the Guard\'s address must start with https://');
    this.set({ ...IDLE_GUARD_LINK, step: 'connecting', guardUrl: url.href.replace(/\/+$/, '') });
    try {
      const enrolment = await enrolWithGuard({
        guardUrl: url.href,
        code,
        identity: this.options.identity,
        role: this.options.role,
        pairingLink: (offer) => this.options.channels.pairingLink(offer, 'extension'),
        ...(this.options.WebSocket ? { WebSocket: this.options.WebSocket } : {}),
        ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
        ...(this.options.now ? { now: this.options.now } : {}),
        ...(this.options.timings ? { link: this.options.timings } : {}),
      });
      this.enrolment = enrolment;
      const sas = await enrolment.sas;
      await enrolment.guardVerified;
      if (this.enrolment !== enrolment) return;
      this.set({ step: 'confirm-sas', sas });
    } catch (error) {
      return this.failed(error);
    }
    // The user compares the codes on their own time: the rest follows confirmSas.
    void this.whenPaired(this.enrolment, asDevice).catch((error: unknown) => {
      if (this.current.step !== 'failed' && this.current.step !== 'idle') this.failed(error);
    });
  }

  /** The user compared the six digits with the Guard's. */
  confirmSas(matches: boolean): void {
    const enrolment = this.enrolment;
    if (!enrolment || this.current.step !== 'confirm-sas') return;
    if (!matches) {
      enrolment.reject();
      return this.failed(new GuardEnrolError('sas_mismatch', 'The codes did not match: nothing was linked. Start again.'));
    }
    enrolment.confirm();
    this.set({ step: 'linking' });
  }

  private async whenPaired(enrolment: GuardEnrolment | null, asDevice: boolean): Promise<void> {
    if (!enrolment) return;
    await enrolment.paired;
    if (this.enrolment !== enrolment) return;
    const client = new GuardClient((message) => enrolment.link.channel.send(message));
    // What the Guard sent before the channel is adopted goes to this client; after, the app routes.
    const stop = enrolment.onMessage((message) => void client.handle(message));
    const adopted = this.options.channels.adopt(enrolment.link);
    stop();
    const guardKey = await adopted;
    this.track(guardKey, client);
    this.enrolment = null;
    this.set({ step: 'linking', guardKey, sas: null });
    // A phone, or a browser linking by a device code (a recovery): the wallet's second factor is set up already.
    if (this.options.role === 'phone' || asDevice) return this.set({ step: 'linked' });
    // The browser sets the first rules during enrolment (the Guard applies them at once until it is a member).
    void this.refreshPolicy(guardKey).catch(() => undefined);
    const { uri } = await client.request<{ uri: string }>('totp-setup');
    this.set({ step: 'second-factor', totpUri: uri });
  }

  /** The browser: the first code of the authenticator app; then the device code for the phone. */
  async confirmSecondFactor(code: string): Promise<void> {
    const guardKey = this.current.guardKey;
    if (this.current.step !== 'second-factor' || !guardKey) throw new GuardEnrolError('not_ready', 'there is no second factor to confirm now');
    if (!/^\d{6}$/.test(code.trim())) throw new GuardEnrolError('bad_code', 'the code is the 6 digits your authenticator app shows');
    // A wrong code is the Guard's typed error (wrong_code, code_locked): the step stays, the user types again.
    await this.client(guardKey).request('totp-confirm', { code: code.trim() });
    this.set({ totpUri: null });
    await this.phoneCode();
  }

  /** A fresh device code for the phone (the previous one expired or was used). */
  async phoneCode(): Promise<void> {
    const guardKey = this.current.guardKey;
    if (!guardKey) throw new GuardEnrolError('not_ready', 'link a Guard first');
    const device = await this.deviceLink(guardKey);
    this.set({ step: 'phone-code', phoneLink: device.link, expiresAt: device.expiresAt });
  }

  /** A device code of the Guard with this key as the link another device opens, and when it expires (the Guard's clock). */
  async deviceLink(guardKey: string): Promise<{ readonly link: string; readonly expiresAt: number }> {
    const device = await this.client(guardKey).request<{ code: string; guardUrl: string; expiresAt: number }>('device-code');
    const code = parseEnrolmentCode(device.code);
    if (!code) throw new GuardEnrolError('bad_code', 'the Guard sent a device code of the wrong form');
    return { link: encodeGuardLink(device.guardUrl, code), expiresAt: device.expiresAt };
  }

  /** The Guard is a member now (or the user moves on): the enrolment screens close. */
  finish(): void {
    this.set({ ...IDLE_GUARD_LINK });
  }

  cancel(): void {
    this.enrolment?.reject();
    this.enrolment = null;
    this.set({ ...IDLE_GUARD_LINK });
  }

  close(): void {
    this.enrolment?.link.close();
    this.enrolment = null;
    for (const client of this.clients.values()) client.close();
  }
}
