/**
 * A device's side of enrolling with a Guard (the extension's Devices page, a phone, tests): the
 * Guard's URL and a one-time code in, a paired link to the Guard out. See guard-service.ts for
 * the Guard's side and docs/guard.md, "Enrolment".
 *
 *   const enrolment = await enrolWithGuard({ guardUrl, code, identity, role, write });
 *   show(await enrolment.sas);          // the user compares it with the one the Guard prints
 *   await enrolment.guardVerified;      // the Guard proved the code over this very SAS
 *   enrolment.confirm();                // after the user said the codes match
 *   const guardKey = await enrolment.paired;
 *
 * The device makes the pairing offer (channel role "extension", whatever the device is) on the
 * relay the Guard names, and proves the code without sending it: an HMAC over the offer in the
 * HTTP request, and one over the SAS inside the channel.
 */
import type { Identity } from '../channel/handshake.ts';
import { createPairingOffer, encodePairingLink, relayChannelName, type PairingOffer } from '../channel/pairing-offer.ts';
import { PeerLink, type PeerLinkOptions } from '../channel/peer-link.ts';
import type { WebSocketConstructor } from '../channel/relay-client.ts';
import type { LinkState } from '../channel/stored-link-state.ts';
import { channelProof, enrolmentMac, parseEnrolmentCode, sameProof } from './enrolment-code.ts';

export class GuardEnrolError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'GuardEnrolError';
  }
}

export interface GuardEnrolment {
  readonly link: PeerLink;
  /** The six digits to compare with the ones the Guard shows. */
  readonly sas: Promise<string>;
  /** The Guard proved the code over this SAS (rejects when its proof is wrong: nothing to confirm). */
  readonly guardVerified: Promise<void>;
  /** The user saw the same codes. */
  confirm(): void;
  /** The codes differ: the enrolment stops. */
  reject(): void;
  /** The Guard's identity key, pinned, once both sides confirmed and the Guard stored the link. */
  readonly paired: Promise<Uint8Array>;
  /**
   * The link's messages: those that came before this call (the TOTP setup follows the pairing at
   * once) first, then each as it comes. Use it instead of `link.channel.onMessage`.
   */
  onMessage(handler: (message: unknown) => void): () => void;
}

interface EnrolmentBase {
  readonly guardUrl: string;
  /** As the Guard printed it (XXXX-XXXX-XXXX-XXXX), any case. */
  readonly code: string;
  readonly identity: Identity;
  /** What the device is, for the Guard's records (its channel role is always the offering one). */
  readonly role: 'extension' | 'phone';
  readonly WebSocket?: WebSocketConstructor;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly link?: Pick<PeerLinkOptions, 'keepaliveMs' | 'backoff'>;
}

export type GuardEnrolmentOptions = EnrolmentBase &
  (
    | {
        /** Stores the link state (encrypted, by the caller). */
        readonly write: (state: LinkState) => Promise<void>;
      }
    | {
        /**
         * The app's link for a new pairing (MemberChannels.pairingLink, channel role "extension"): it
         * stores nothing until the app adopts it as the Guard's member channel once `paired` resolved.
         */
        readonly pairingLink: (offer: PairingOffer) => PeerLink;
      }
  );

async function guardJson(fetcher: typeof fetch, url: string, init?: RequestInit): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetcher(url, init);
  } catch {
    throw new GuardEnrolError('unreachable', `the Guard at ${url} cannot be reached`);
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) throw new GuardEnrolError(typeof body.error === 'string' ? body.error : `http_${response.status}`, typeof body.message === 'string' ? body.message : `the Guard answered ${response.status}`);
  return body;
}

export async function enrolWithGuard(options: GuardEnrolmentOptions): Promise<GuardEnrolment> {
  const code = parseEnrolmentCode(options.code);
  if (!code) throw new GuardEnrolError('bad_code', 'this is not an enrolment code (16 letters and digits, as the Guard printed it)');
  const fetcher = options.fetch ?? fetch;
  const base = options.guardUrl.replace(/\/+$/, '');
  const info = await guardJson(fetcher, `${base}/v1/guard`);
  if (info.service !== 'duet-guard' || typeof info.relayUrl !== 'string') throw new GuardEnrolError('not_a_guard', `${base} is not a Duet Guard`);
  const relayUrl = info.relayUrl;
  const { offer, ephemeralSecret } = createPairingOffer(relayUrl, (options.now ?? Date.now)());
  const link = 'pairingLink' in options ? options.pairingLink(offer) : PeerLink.pairing({ role: 'extension', identity: options.identity, write: options.write, ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}), ...(options.link ?? {}) }, offer, relayUrl);
  const channel = link.channel;
  channel.awaitPhone(offer, ephemeralSecret);
  const channelName = relayChannelName(offer);
  let sasValue: string | null = null;
  let resolveSas!: (sas: string) => void;
  let verified!: { resolve: () => void; reject: (error: Error) => void };
  let pairedWith!: { resolve: (key: Uint8Array) => void; reject: (error: Error) => void };
  const sas = new Promise<string>((resolve) => (resolveSas = resolve));
  const guardVerified = new Promise<void>((resolve, reject) => (verified = { resolve, reject }));
  const paired = new Promise<Uint8Array>((resolve, reject) => (pairedWith = { resolve, reject }));
  guardVerified.catch(() => undefined);
  paired.catch(() => undefined);
  let guardProof: string | null = null;
  let peerIdentity: Uint8Array | null = null;
  let proven = false;
  const checkGuard = () => {
    if (sasValue === null || guardProof === null) return;
    if (sameProof(guardProof, channelProof(code.secret, 'guard', channelName, sasValue))) {
      proven = true;
      verified.resolve();
    } else {
      const error = new GuardEnrolError('guard_not_verified', 'The Guard could not prove it knows the code over this connection: someone may be in between. Nothing was paired.');
      verified.reject(error);
      pairedWith.reject(error);
      channel.rejectSas();
      link.close();
    }
  };
  channel.onEvent((event) => {
    if (event.kind === 'sas') {
      sasValue = event.sas;
      resolveSas(event.sas);
      channel.sendEarly({ t: 'guard-enrol-proof', proof: channelProof(code.secret, 'device', channelName, event.sas) });
      checkGuard();
    }
    if (event.kind === 'paired') peerIdentity = event.peerIdentity;
    if (event.kind === 'error' && channel.currentPhase !== 'paired') pairedWith.reject(event.error);
  });
  channel.onEarlyMessage((message) => {
    const value = (message as { t?: unknown; proof?: unknown } | null) ?? {};
    if (value.t === 'guard-enrol-proof' && typeof value.proof === 'string' && guardProof === null) {
      guardProof = value.proof;
      checkGuard();
    }
  });
  // Messages that arrive before the caller listens are kept for it (onMessage).
  const early: unknown[] = [];
  let listeners: ((message: unknown) => void)[] = [];
  channel.onMessage((message) => {
    // Paired means the Guard stored the link and serves it: it says so first.
    const event = (message as { t?: unknown; event?: { kind?: unknown } } | null) ?? {};
    if (peerIdentity && event.t === 'guard-event' && event.event?.kind === 'linked') pairedWith.resolve(peerIdentity);
    if (listeners.length === 0) early.push(message);
    for (const listener of listeners) listener(message);
  });
  await link.connect();
  const offerLink = encodePairingLink(offer, base);
  try {
    await guardJson(fetcher, `${base}/v1/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ v: 1, offer: offerLink, role: options.role, code: code.id, mac: enrolmentMac(code.secret, offerLink, options.role) }),
    });
  } catch (error) {
    link.close();
    throw error;
  }
  return {
    link,
    sas,
    guardVerified,
    confirm: () => {
      if (!proven) throw new GuardEnrolError('guard_not_verified', 'confirm only after the Guard proved the code (guardVerified)');
      channel.confirmSas();
    },
    reject: () => {
      channel.rejectSas();
      link.close();
    },
    paired,
    onMessage: (handler) => {
      listeners = [...listeners, handler];
      for (const message of early.splice(0)) handler(message);
      return () => (listeners = listeners.filter((listener) => listener !== handler));
    },
  };
}
