/**
 * Duet Guard, the service: an HTTP endpoint for enrolment, one end-to-end encrypted link per
 * device over the relay (src/channel/peer-link.ts, the Guard in the channel's answering role), and
 * one GuardWallet per wallet it serves.
 *
 * Enrolment (docs/guard.md, "Enrolment"):
 *   device  GET  /v1/guard                           → {service, version, relayUrl}
 *   device  makes a pairing offer on that relay, waits on its pairing channel
 *   device  POST /v1/enrol {v, offer, role, code, mac}  mac = HMAC(code secret, offer, role)
 *   Guard   claims the code once, answers the offer on the relay; both compute the SAS;
 *           each sends HMAC(code secret, its side, channel, SAS) as an early message; each
 *           confirms the SAS only when the other's proof checks (the Guard prints the SAS too)
 *   paired  new wallet (a code the Guard printed): the wallet and its link are stored, the device
 *           is sent the TOTP setup; a device code (from op device-code): the link joins that wallet
 * After that every connection of a link starts a fresh key exchange (forward secrecy), as between
 * the extension and the phone.
 *
 * Abuse limits: HTTP bodies ≤ 8 KiB and a token bucket per client address (client-address.ts,
 * with --trust-proxy behind a reverse proxy); per wallet a token bucket and size caps
 * (guard-wallet.ts); codes die after 5 wrong proofs. Nothing secret is logged: lines name wallets
 * and devices by short prefixes, never a key, code or share.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebSocket } from 'ws';
import { generateIdentity, type Identity } from '../channel/handshake.ts';
import { ChannelError } from '../channel/channel-error.ts';
import { decodePairingLink, relayChannelName, type PairingOffer } from '../channel/pairing-offer.ts';
import { LinkResumeError, PeerLink, type PeerLinkOptions } from '../channel/peer-link.ts';
import type { WebSocketConstructor } from '../channel/relay-client.ts';
import type { LinkState } from '../channel/stored-link-state.ts';
import { hexFromBytes } from '../mpc/wire.ts';
import { clientAddress } from '../relay/client-address.ts';
import { TokenBucket } from '../relay/token-bucket.ts';
import type { Database } from './database.ts';
import { channelProof, encodeGuardLink, enrolmentMac, formatEnrolmentCode, sameProof } from './enrolment-code.ts';
import { APPROVED_TTL_MS } from './guard-signer.ts';
import { GuardStore, type LinkRecord } from './guard-store.ts';
import { GuardWallet, type RateLimit } from './guard-wallet.ts';
import { GuardKeyPool, type PreparedKeySource } from './guard-key-pool.ts';
import type { KeyEncryptionKey } from './key-encryption.ts';
import { migrate } from './migrations.ts';
import { newTotpSecret, totpSetupUri } from './second-factor.ts';
import type { LinkInfo } from './wallet-context.ts';

export const GUARD_API_VERSION = 1;
/** A code the Guard prints for a new wallet lives this long. */
export const ENROLMENT_CODE_TTL_MS = 15 * 60_000;
/** A pairing not confirmed by then is dropped. */
const PAIRING_TIMEOUT_MS = 3 * 60_000;
const MAX_BODY_BYTES = 8 * 1024;
const DEFAULT_IP_RATE: RateLimit = { perSecond: 0.2, burst: 10 };
const SWEEP_MS = 30_000;
const LINK_STORE_MS = 100;

export interface GuardOptions {
  readonly db: Database;
  readonly kek: KeyEncryptionKey;
  /** The relay the Guard's links use (devices must make their offers on it). */
  readonly relayUrl: string;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** The Guard's URL as devices reach it (behind TLS in production); default http://host:port. */
  readonly publicUrl?: string;
  readonly now?: () => number;
  /** Paillier keys for its pairs (default: a pool of worker threads). */
  readonly preparedKey?: PreparedKeySource;
  readonly log?: (line: string) => void;
  readonly WebSocket?: WebSocketConstructor;
  readonly walletRate?: RateLimit;
  readonly ipRate?: RateLimit;
  readonly trustProxy?: readonly string[];
  /** Relay client timings (tests shorten them). */
  readonly link?: Pick<PeerLinkOptions, 'keepaliveMs' | 'backoff'>;
}

interface LiveLink {
  readonly info: LinkInfo & { readonly wallet: string };
  readonly link: PeerLink;
  /** Sends in order; a send the channel refuses until its state is stored waits for a store. */
  sending: Promise<void>;
  storing: boolean;
}

class EnrolmentRefused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const newId = () => Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url');

export class GuardService {
  readonly store: GuardStore;
  private readonly options: GuardOptions;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly links = new Map<string, LiveLink>();
  private readonly pairing = new Set<PeerLink>();
  private readonly wallets = new Map<string, Promise<GuardWallet>>();
  private readonly addresses = new Map<string, TokenBucket>();
  private readonly keys: PreparedKeySource;
  private server: Server | null = null;
  private sweeper: ReturnType<typeof setInterval> | null = null;
  private baseUrl = '';
  private closed = false;

  private constructor(options: GuardOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.log = options.log ?? ((line) => console.log(`[guard] ${line}`));
    this.store = new GuardStore(options.db, options.kek, this.now);
    if (options.preparedKey) this.keys = options.preparedKey;
    else {
      const pool = new GuardKeyPool();
      this.keys = () => pool.take();
    }
  }

  /** Migrates the database, checks the KEK, starts the HTTP endpoint and every stored link. */
  static async start(options: GuardOptions): Promise<GuardService> {
    const guard = new GuardService(options);
    await migrate(options.db, undefined, guard.now);
    await guard.store.checkKek();
    await guard.listen();
    await guard.resumeLinks();
    guard.sweeper = setInterval(() => void guard.sweep(), SWEEP_MS);
    guard.sweeper.unref();
    return guard;
  }

  /** The Guard's URL (what devices type, with the code). */
  get url(): string {
    return this.options.publicUrl ?? this.baseUrl;
  }

  /** A one-time code for a new wallet, and the guard link that carries it (for a QR code). */
  async issueEnrolmentCode(ttlMs = ENROLMENT_CODE_TTL_MS): Promise<{ code: string; link: string; expiresAt: number }> {
    const { code, expiresAt } = await this.store.createCode(null, ttlMs);
    await this.store.audit({ wallet: null, actor: 'guard', action: 'enrolment-code', outcome: 'issued' });
    return { code: formatEnrolmentCode(code), link: encodeGuardLink(this.url, code), expiresAt };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const live of this.links.values()) live.link.close();
    for (const link of this.pairing) link.close();
    this.links.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }

  // ---- wallets ------------------------------------------------------------------------------

  private wallet(id: string): Promise<GuardWallet> {
    let wallet = this.wallets.get(id);
    if (!wallet) {
      wallet = GuardWallet.load({
        id,
        store: this.store,
        now: this.now,
        preparedKey: this.keys,
        guardUrl: this.url,
        log: this.log,
        ...(this.options.walletRate ? { rate: this.options.walletRate } : {}),
        transport: {
          send: (linkId, message) => this.send(linkId, message),
          links: (wallet) => [...this.links.values()].filter((live) => live.info.wallet === wallet).map((live) => live.info),
          retire: (wallet, keys) => this.retireLinks(wallet, keys),
        },
      });
      wallet.catch(() => this.wallets.delete(id));
      this.wallets.set(id, wallet);
    }
    return wallet;
  }

  private async sweep(): Promise<void> {
    try {
      const stale = await this.store.staleApproved(APPROVED_TTL_MS);
      const byWallet = new Map<string, string[]>();
      for (const { wallet, id } of stale) byWallet.set(wallet, [...(byWallet.get(wallet) ?? []), id]);
      for (const [wallet, ids] of byWallet) await (await this.wallet(wallet)).expire(ids);
      for (const [address, bucket] of this.addresses) if (bucket.isFull(this.now())) this.addresses.delete(address);
    } catch (error) {
      this.log(`sweep failed: ${error instanceof Error ? error.name : 'error'}`);
    }
  }

  // ---- links --------------------------------------------------------------------------------

  private linkOptions(identity: Identity, write: (state: LinkState) => Promise<void>): PeerLinkOptions {
    return { role: 'phone', identity, write, WebSocket: this.options.WebSocket ?? (WebSocket as unknown as WebSocketConstructor), ...(this.options.link ?? {}) };
  }

  private async resumeLinks(): Promise<void> {
    const records = await this.store.links();
    const walletIds = new Set(records.map((record) => record.wallet));
    for (const id of walletIds) {
      const wallet = await this.wallet(id);
      for (const record of records.filter((candidate) => candidate.wallet === id)) {
        try {
          const link = PeerLink.resume(this.linkOptions(wallet.identity(), (state) => this.store.saveLinkState(record.id, state)), record.state);
          this.attach(record, link);
          // A restored channel sends nothing until a new state is stored.
          await link.store();
          void link.connect().catch(() => undefined);
        } catch (error) {
          this.log(`link ${record.id.slice(0, 8)} cannot be resumed: ${error instanceof LinkResumeError ? error.message : 'damaged'}`);
          await this.store.retireLink(record.id);
        }
      }
      await wallet.resume();
    }
  }

  private attach(record: Pick<LinkRecord, 'id' | 'wallet' | 'deviceKey' | 'deviceRole'>, link: PeerLink): LiveLink {
    const live: LiveLink = { info: { id: record.id, wallet: record.wallet, deviceKey: record.deviceKey, deviceRole: record.deviceRole }, link, sending: Promise.resolve(), storing: false };
    this.links.set(record.id, live);
    link.channel.onMessage((message) => {
      if (this.closed) return;
      void this.wallet(record.wallet)
        .then((wallet) => wallet.handle(record.id, message))
        .then(() => this.storeSoon(live));
    });
    return live;
  }

  /**
   * Stores a link's state after its messages were handled (the relay then drops what it delivered);
   * writes within LINK_STORE_MS coalesce into one. A crash before it loses nothing: the relay
   * delivers again what was not acknowledged, and every message is handled idempotently.
   */
  private storeSoon(live: LiveLink): void {
    if (live.storing || this.closed) return;
    live.storing = true;
    setTimeout(() => {
      live.storing = false;
      if (!this.closed) void live.link.store().catch(() => undefined);
    }, LINK_STORE_MS).unref();
  }

  private send(linkId: string, message: unknown): void {
    const live = this.links.get(linkId);
    if (!live || this.closed) return;
    live.sending = live.sending.then(async () => {
      try {
        live.link.channel.send(message);
      } catch (error) {
        if (!(error instanceof ChannelError) || error.code !== 'save_required') throw error;
        await live.link.store();
        live.link.channel.send(message);
      }
      this.storeSoon(live);
    }).catch((error: unknown) => this.log(`link ${linkId.slice(0, 8)}: a message was not sent (${error instanceof Error ? error.message : 'error'})`));
  }

  private retireLinks(wallet: string, deviceKeys: readonly string[]): void {
    for (const live of [...this.links.values()]) {
      if (live.info.wallet !== wallet || !deviceKeys.includes(live.info.deviceKey)) continue;
      // What was sent last (a certificate, a deletion receipt) goes out first.
      void live.sending.then(async () => {
        await new Promise((resolve) => setTimeout(resolve, 5_000).unref());
        if (this.closed) return;
        this.links.delete(live.info.id);
        await this.store.retireLink(live.info.id);
        await live.link.retire().catch(() => false);
        live.link.close();
      });
    }
  }

  // ---- enrolment ----------------------------------------------------------------------------

  private async enrol(body: unknown): Promise<void> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new EnrolmentRefused(400, 'bad_request', 'expected a JSON object');
    const { v, offer: offerLink, role, code, mac } = body as Record<string, unknown>;
    if (v !== GUARD_API_VERSION || Object.keys(body).length !== 5) throw new EnrolmentRefused(400, 'bad_request', `expected {v: ${GUARD_API_VERSION}, offer, role, code, mac}`);
    if (typeof offerLink !== 'string' || typeof code !== 'string' || typeof mac !== 'string' || (role !== 'extension' && role !== 'phone')) throw new EnrolmentRefused(400, 'bad_request', 'offer, code and mac are text; role is "extension" or "phone"');
    let offer: PairingOffer;
    try {
      offer = decodePairingLink(offerLink, this.now());
    } catch (error) {
      throw new EnrolmentRefused(400, 'bad_offer', error instanceof Error ? error.message : 'the pairing offer is damaged');
    }
    if (offer.relayUrl !== this.options.relayUrl) throw new EnrolmentRefused(400, 'wrong_relay', `make the pairing offer on this Guard's relay, ${this.options.relayUrl}`);
    const claim = await this.store.claimCode(code, (secret) => sameProof(enrolmentMac(secret, offerLink, role), mac));
    if (!claim.ok) {
      const status = { unknown_code: 404, expired: 410, used: 410, bad_code: 401 }[claim.reason];
      await this.store.audit({ wallet: null, actor: 'http', action: 'enrol', outcome: 'refused', reason: claim.reason });
      throw new EnrolmentRefused(status, claim.reason, claim.reason === 'bad_code' ? 'the code does not match' : `this code is ${claim.reason === 'unknown_code' ? 'unknown' : claim.reason}`);
    }
    let identity: Identity;
    if (claim.wallet) {
      const record = await this.store.wallet(claim.wallet);
      if (!record || record.status === 'removed') throw new EnrolmentRefused(404, 'unknown_wallet', 'the wallet of this code is not served by this Guard any more');
      identity = record.identity;
    } else {
      identity = generateIdentity();
    }
    this.pair(offer, role, claim.secret, identity, claim.wallet);
  }

  /** Answers the device's offer; confirms the SAS once the device proved the code over it. */
  private pair(offer: PairingOffer, role: 'extension' | 'phone', secret: string, identity: Identity, walletId: string | null): void {
    let linkId: string | null = null;
    const link = PeerLink.pairing(this.linkOptions(identity, async (state) => (linkId ? this.store.saveLinkState(linkId, state) : undefined)), offer, this.options.relayUrl);
    this.pairing.add(link);
    const channel = link.channel;
    const channelName = relayChannelName(offer);
    let sas: string | null = null;
    let deviceProof: string | null = null;
    const drop = () => {
      this.pairing.delete(link);
      link.close();
    };
    const timeout = setTimeout(drop, PAIRING_TIMEOUT_MS);
    timeout.unref();
    const buffered: unknown[] = [];
    let live: LiveLink | null = null;
    const confirmIfProven = () => {
      if (sas === null || deviceProof === null) return;
      if (sameProof(deviceProof, channelProof(secret, 'device', channelName, sas))) channel.confirmSas();
      else {
        this.log(`enrolment of a ${role}: the device's proof over the SAS does not match; dropped`);
        channel.rejectSas();
        drop();
      }
    };
    channel.onEvent((event) => {
      if (event.kind === 'sas') {
        sas = event.sas;
        this.log(`enrolment of a ${role}: SAS ${event.sas}`);
        channel.sendEarly({ t: 'guard-enrol-proof', proof: channelProof(secret, 'guard', channelName, event.sas) });
        confirmIfProven();
      }
      if (event.kind === 'paired') {
        clearTimeout(timeout);
        const deviceKey = hexFromBytes(event.peerIdentity);
        linkId = newId();
        const id = linkId;
        const totp = walletId ? null : newTotpSecret();
        void link
          .store(async (state) => {
            if (walletId) await this.store.insertLink(walletId, { id, deviceKey, deviceRole: role, state });
            else walletId = await this.store.insertWallet(identity, totp as string, { id, deviceKey, deviceRole: role, state });
          })
          .then(async () => {
            this.pairing.delete(link);
            const wallet = walletId as string;
            live = this.attach({ id, wallet, deviceKey, deviceRole: role }, link);
            this.log(`wallet ${wallet.slice(0, 8)}: linked a ${role} (${deviceKey.slice(0, 16)})`);
            // The device counts itself linked only from here: the link is stored and serves it.
            this.send(id, { t: 'guard-event', event: { kind: 'linked' } });
            if (totp) this.send(id, { t: 'guard-event', event: { kind: 'totp-setup', uri: totpSetupUri(totp, `wallet ${wallet.slice(0, 8)}`) } });
            const target = await this.wallet(wallet);
            for (const message of buffered.splice(0)) await target.handle(id, message);
          })
          .catch((error: unknown) => {
            this.log(`enrolment of a ${role} could not be stored: ${error instanceof Error ? error.message : 'error'}`);
            drop();
          });
      }
    });
    channel.onEarlyMessage((message) => {
      const proof = (message as { t?: unknown; proof?: unknown } | null) ?? {};
      if (proof.t === 'guard-enrol-proof' && typeof proof.proof === 'string' && deviceProof === null) {
        deviceProof = proof.proof;
        confirmIfProven();
      }
    });
    // Until the link is stored and attached, its messages wait here.
    channel.onMessage((message) => {
      if (!live) buffered.push(message);
    });
    channel.answerOffer(offer);
    void link.connect().catch(() => drop());
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  private listen(): Promise<void> {
    const server = createServer((request, response) => void this.onHttp(request, response));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 8790, this.options.host ?? '127.0.0.1', () => {
        const address = server.address();
        const port = typeof address === 'object' && address ? address.port : 0;
        this.baseUrl = `http://${this.options.host ?? '127.0.0.1'}:${port}`;
        resolve();
      });
    });
  }

  private allowedFrom(request: IncomingMessage): boolean {
    const address = clientAddress(request.socket.remoteAddress, request.headers['x-forwarded-for'], new Set(this.options.trustProxy ?? []));
    const rate = this.options.ipRate ?? DEFAULT_IP_RATE;
    let bucket = this.addresses.get(address);
    if (!bucket) {
      bucket = new TokenBucket(rate.perSecond, rate.burst, this.now());
      this.addresses.set(address, bucket);
    }
    return bucket.take(this.now());
  }

  private async onHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown, type = 'application/json') => {
      response.writeHead(status, { 'content-type': type, 'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type', 'cache-control': 'no-store' });
      response.end(type === 'application/json' ? JSON.stringify(body) : String(body));
    };
    const path = (request.url ?? '/').split('?')[0];
    try {
      if (request.method === 'OPTIONS') return reply(204, '', 'text/plain');
      if (request.method === 'GET' && path === '/v1/guard') return reply(200, { service: 'duet-guard', version: GUARD_API_VERSION, relayUrl: this.options.relayUrl });
      if (request.method === 'GET' && path === '/') return reply(200, PAGE, 'text/html; charset=utf-8');
      if (request.method !== 'POST' || path !== '/v1/enrol') return reply(404, { error: 'not_found', message: 'no such endpoint' });
      if (!this.allowedFrom(request)) return reply(429, { error: 'rate_limited', message: 'too many enrolment attempts from this address: wait a minute' });
      const body = await readBody(request);
      await this.enrol(body);
      return reply(202, { status: 'pairing' });
    } catch (error) {
      if (error instanceof EnrolmentRefused) return reply(error.status, { error: error.code, message: error.message });
      this.log(`HTTP ${request.method} ${path} failed: ${error instanceof Error ? error.name : 'error'}`);
      return reply(500, { error: 'internal', message: 'the Guard could not handle this request' });
    }
  }
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new EnrolmentRefused(413, 'too_large', `the body may be at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new EnrolmentRefused(400, 'bad_request', 'the body is not JSON');
  }
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Duet Guard</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1d2430}code{background:#eef1f5;padding:.1rem .3rem;border-radius:.2rem}</style></head>
<body><h1>Duet Guard</h1>
<p>This is a Duet Guard: a co-signer that joins your Duet wallet as one of its members and co-signs only what your rules allow. It can never sign alone.</p>
<p>To add it: in the Duet extension open <b>Devices → Add the Guard</b>, type this page's address and the one-time enrolment code the Guard printed when it started (<code>npm run guard</code>), and compare the six-digit code both show.</p>
</body></html>`;
