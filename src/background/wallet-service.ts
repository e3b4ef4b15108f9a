/**
 * The extension's wallet core (P2's side, minus the two-party protocol itself): lock state,
 * accounts from the pairing, networks, per-origin permissions, the approval queue, and the
 * approval → co-signing → verify → broadcast pipeline.
 *
 * Everything the browser provides comes in as a port (storage areas, fetch, the approval window,
 * page events, alarms, a clock, the phone link), so Node tests run the same code.
 */
import { getAddress } from 'ethers';
import { displayModel } from '../wallet/decode.ts';
import type { PresignFacts, Replacement } from '../wallet/presign-facts.ts';
import { movedAmount } from '../wallet/balance-change.ts';
import { reviewedDisplay } from '../wallet/reviewed-display.ts';
import { counterparty } from '../wallet/token-call.ts';
import type { ProviderEventName } from '../provider/page-messages.ts';
import { ProviderRpcError, RpcErrorCode, rpcErrors, toProviderRpcError } from '../provider/rpc-error.ts';
import { toHexChainId } from '../wallet/chains.ts';
import { WALLET_ORIGIN, decodeSigningRequest, encodeSigningRequest, maxFeePerGasOf, priorityFeePerGasOf, type SigningRequest, type TokenInfo, type TransactionRequest } from '../wallet/signing-request.ts';
import type { UnlockedVault } from '../vault/vault.ts';
import { defaultAccountName, deriveAccountAddress, PAIRED_KEY_RECORD, parseAccountName, parsePairedKey, type PairedKey } from './accounts.ts';
import { ActivityLog, type ActivityEntry, type ActivityStatus } from './activity.ts';
import { ApprovalQueue, DEFAULT_QUEUE_LIMITS, requestFingerprint, type ApprovalOutcome, type ApprovalPayload, type ApprovalRecord, type QueueLimits, type SignPayload } from './approval-queue.ts';
import { CallBatchStore, Eip5792ErrorCode, callsStatus, newBatchId, type CallBatch, type SendCallsRequest } from './call-batches.ts';
import { approvalCard, approvalSummary, type ApprovalCard, type ApprovalSummary } from './approval-view.ts';
import { AUTO_LOCK_ALARM, armAutoLock, type AlarmPort } from './auto-lock.ts';
import { parseCurrencySymbol, parseExplorerUrl, parseHexChainId, parseNetworkName, parseRpcUrl, type AddChainRequest } from './chain-params.ts';
import { CoSignerFailedError, CoSignerRejectedError, type PhoneStatus } from './co-signer.ts';
import { addNetwork, findNetwork, removeNetwork, requireNetwork, setNetworkRpcUrl, switchNetwork } from './networks.ts';
import { GuardEnrolError } from '../guard/guard-enrolment-client.ts';
import { GuardRequestError } from '../guard/guard-client.ts';
import { describeReason } from '../guard/decision-reasons.ts';
import { guardPanelView, type GuardPanelView } from './guard-panel.ts';
import { IDLE_GUARD_LINK, type GuardDecision, type GuardLinkProgress } from '../session/guard-links.ts';
import type { GuardRecoveryView } from '../session/guard-recovery.ts';
import { SessionError } from '../session/session-error.ts';
import { IDLE_PAIRING, type GuardDriver, type MembersDriver, type MembersView, type PairingProgress, type PairingResult, type PhoneLink, type PhoneLinkFactory } from './pairing.ts';
import type { PairingKind } from '../channel/pairing-offer.ts';
import type { SettingsBody } from '../session/settings-record.ts';
import { connectedOrigins, eip2255Permissions, grantAccounts, pageAccounts, permitChain, revokeOrigin, setSiteChain, siteChainId, sitesLeaveChain, sitesOnOwnChain } from './permissions.ts';
import { readPageSettings, writePageSettings, type PageSettings } from './page-settings.ts';
import { messageFacts, transactionFacts } from './presign-checks.ts';
import { registerProviderMethods, type MethodBackend } from './provider-methods.ts';
import { replacementParams } from './replacement.ts';
import { transactionRequest, withTokenDetails, type TransactionAdvice } from './request-builders.ts';
import { addWatchedNft, addWatchedToken, findToken, readTokenMetadata, removeNft, removeToken, tokensOn } from './token-list.ts';
import { tokenBalance } from './token-reader.ts';
import { trackTransactions } from './transaction-tracker.ts';
import { checkFunds, parseAmount, parseRecipient, quoteSend, reachable, sendPlan, type SendQuote } from './wallet-send.ts';
import { AUTO_LOCK_CHOICES_MINUTES, activeAccountEntry, activeNetwork, WalletStateStore, type Mutable, type PairedDevice, type TokenEntry, type WalletState } from './wallet-state.ts';
import { callRpc, fetchChainId, type FetchLike } from './rpc-client.ts';
import { RequestRouter, type RequestContext } from './router.ts';
import { signatureHex, signedTransactionHex, verifyCoSignature } from './signature-check.ts';
import { SiteThrottle } from './site-throttle.ts';
import { editTransaction, type TransactionEdits } from './transaction-review.ts';
import type { KeyValueStore } from './storage.ts';
import { VaultSession } from './vault-session.ts';
import { WalletActionError } from './wallet-action-error.ts';
import { phoneAppUrlProblem } from '../channel/pairing-offer.ts';
import { DEFAULT_DIRECT_SETTINGS, type DirectSettings } from '../channel/direct-path.ts';
import { IceServerError, parseIceServerLines } from '../channel/ice-servers.ts';

/** How long Duet waits for the phone after the user approved; the user can extend it. */
export const PHONE_WAIT_MS = 2 * 60_000;
export const PHONE_WAIT_EXTENSION_MS = 2 * 60_000;
/** "Last seen" is written to storage at most this often. */
const LAST_SEEN_WRITE_INTERVAL_MS = 60_000;
/** How often a batch's runner asks the node whether the previous call is mined, and for how long. */
export const BATCH_RECEIPT_POLL_MS = 1_000;
export const BATCH_RECEIPT_WAIT_MS = 10 * 60_000;
/** Open transactions are checked this often while the service worker runs… */
export const TRACK_INTERVAL_MS = 4_000;
/** …and an alarm wakes a stopped worker to go on (Chrome's shortest alarm: 30 s). */
export const TRACK_ALARM = 'duet/track-transactions';
const TRACK_ALARM_MINUTES = 0.5;

export interface Clock {
  now(): number;
  /** Runs `task` after `ms`; returns a function that cancels it. */
  after(ms: number, task: () => void): () => void;
}

export interface PageEvents {
  toOrigin(origin: string, event: ProviderEventName, payload: unknown): void;
  /** To every page, except those of the origins in `except`. */
  toAll(event: ProviderEventName, payload: unknown, except?: ReadonlySet<string>): void;
}

export interface ApprovalWindowPort {
  /** Opens the approval window; an open one is focused only when `focus` is set. */
  open(options: { readonly focus: boolean }): Promise<void>;
}

export interface WalletPorts {
  readonly local: KeyValueStore;
  readonly session: KeyValueStore;
  readonly fetch: FetchLike;
  readonly approvalWindow: ApprovalWindowPort;
  readonly pageEvents: PageEvents;
  readonly alarms: AlarmPort;
  readonly clock: Clock;
  readonly phoneLinks: PhoneLinkFactory;
  readonly vaultName: string;
  /** The approval queue's limits (tests lower them); DEFAULT_QUEUE_LIMITS otherwise. */
  readonly queueLimits?: QueueLimits;
}

export interface WalletView {
  readonly vaultExists: boolean;
  readonly unlocked: boolean;
  readonly paired: boolean;
  readonly state: WalletState;
  readonly pairing: PairingProgress;
  readonly phone: PhoneStatus;
  /** The wallet's members (null while this browser holds no wallet). */
  readonly members: MembersView | null;
  /** Adding the Duet Guard (Devices page): the link's step, its SAS, the TOTP QR, the phone's link. */
  readonly guard: GuardLinkProgress;
  /** The Guard's rules, pending change and delayed queue (null: no Guard linked). */
  readonly guardPanel: GuardPanelView | null;
  /** Replacing a lost phone with the Guard as dealer (null: none under way). */
  readonly guardRecovery: GuardRecoveryView | null;
  /** The Guard's decision on the request on screen, its reasons in words (null: no Guard asked). */
  readonly guardDecision: { readonly verdict: GuardDecision['verdict']; readonly reasons: readonly string[]; readonly until: number | null } | null;
  /** This browser joins a wallet (a recovery): its questions and progress. */
  readonly joining: ReturnType<MembersDriver['joiningView']>;
  /** A site waits for Duet to be unlocked (the approval window asks for the password). */
  readonly unlockRequested: boolean;
  /** The request on screen in the approval window, decoded; only this one is built. */
  readonly approval: ApprovalCard | null;
  /** Every request the window holds (open ones, and results shown for a few seconds), in order. */
  readonly approvals: readonly ApprovalSummary[];
  /** How Duet presents itself to pages (popup Settings). */
  readonly pageSettings: PageSettings;
}

export interface NetworkInput {
  readonly name: unknown;
  readonly chainId: unknown;
  readonly rpcUrl: unknown;
  readonly symbol: unknown;
  readonly explorerUrl?: unknown;
}

/** switched: the user asked another device; the request goes on with it. */
export type StopReason = 'cancelled' | 'timeout' | 'locked' | 'window-closed' | 'switched';

/** Why Duet stopped waiting for the phone (the AbortSignal's reason). */
export class SigningStopped extends Error {
  readonly reason: StopReason;

  constructor(reason: StopReason) {
    super(`co-signing stopped: ${reason}`);
    this.name = 'SigningStopped';
    this.reason = reason;
  }
}

interface UnlockWaiter {
  readonly origin: string;
  resolve(): void;
  reject(error: ProviderRpcError): void;
}

interface InFlight {
  readonly controller: AbortController;
  cancelTimer: () => void;
}

const OFFLINE_PHONE: PhoneStatus = { reachable: false, lastSeen: null };

function randomId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function unwrapOutcome(outcome: ApprovalOutcome): unknown {
  if ('error' in outcome) throw new ProviderRpcError(outcome.error.code, outcome.error.message, outcome.error.data);
  return outcome.result;
}

/** What a page (and the approval window) says when the phone refuses this browser after a failed signature. */
export const TAINTED_REFUSAL = 'Your phone refused to co-sign: a signature this browser computed failed its check, so this browser may be compromised. It now co-signs only transfers to the rescue address set on the phone (see Duet\'s home screen).';

/** What a page sees when co-signing did not produce a signature. */
export function coSigningError(error: unknown): ProviderRpcError {
  if (error instanceof SigningStopped) {
    switch (error.reason) {
      case 'timeout':
        return rpcErrors.internal('Your phone did not answer in time. Nothing was signed.', { reason: 'phone_timeout' });
      case 'locked':
        return rpcErrors.unauthorized('Duet was locked before your phone answered. Nothing was signed.');
      default:
        return rpcErrors.userRejected('Cancelled in Duet before your phone answered. Nothing was signed.');
    }
  }
  if (error instanceof CoSignerRejectedError) return rpcErrors.userRejected('Rejected on your phone.');
  if (error instanceof CoSignerFailedError) {
    if (error.code === 'not_paired') return rpcErrors.unauthorized('No phone is paired with Duet.');
    if (error.code === 'tainted') return rpcErrors.internal(TAINTED_REFUSAL, { reason: 'tainted' });
    return rpcErrors.internal(`Co-signing failed: ${error.message}`, { reason: error.code });
  }
  return toProviderRpcError(error);
}

export class WalletService implements MethodBackend {
  readonly state: WalletStateStore;
  private readonly ports: WalletPorts;
  private readonly vaultSession: VaultSession;
  private readonly queue: ApprovalQueue;
  private readonly throttle: SiteThrottle;
  private readonly router: RequestRouter;
  private readonly batches: CallBatchStore;
  private readonly inFlight = new Map<string, InFlight>();
  private unlockWaiters: UnlockWaiter[] = [];
  private link: PhoneLink | null = null;
  /** The direct path's settings, as the link reads them at each attempt. */
  private directPath: DirectSettings = DEFAULT_DIRECT_SETTINGS;
  private lastSeenWritten = 0;
  /** The activity record, while the vault is open. */
  private activity: ActivityLog | null = null;
  private stopTracking: (() => void) | null = null;
  private tracking: Promise<void> | null = null;
  /**
   * This browser just joined a wallet (a recovery): its key, and its default accounts being stored;
   * the first settings record a member sends restores names and networks after that.
   */
  private restore: { readonly key: PairedKey; readonly ready: Promise<void> } | null = null;
  /** Page requests being handled, by origin and key: a copy sent again joins the first. */
  private readonly arriving = new Map<string, Promise<unknown>>();
  private settingsEpoch: number | null = null;

  constructor(ports: WalletPorts) {
    this.ports = ports;
    this.state = new WalletStateStore(ports.local);
    this.vaultSession = new VaultSession(ports.session, ports.vaultName);
    this.queue = new ApprovalQueue(ports.session, () => ports.clock.now(), ports.queueLimits ?? DEFAULT_QUEUE_LIMITS);
    this.throttle = new SiteThrottle(ports.session, () => ports.clock.now());
    this.batches = new CallBatchStore(ports.session);
    this.router = registerProviderMethods(new RequestRouter(), this);
  }

  /** After (re)start: reopen the vault from session storage, restore the queue, resume co-signing. */
  async start(): Promise<void> {
    await Promise.all([this.queue.load(), this.throttle.load(), this.batches.load()]);
    const vault = await this.vaultSession.restore();
    if (vault) await this.opened(vault);
    for (const record of this.queue.open()) {
      if (record.status !== 'co-signing') continue;
      if (this.link) this.runCoSigning(record);
      else await this.queue.finish(record.id, { error: coSigningError(new SigningStopped('locked')).toJSON() }, 'Duet was locked.');
    }
    if (this.queue.awaitingUser().length > 0) await this.ports.approvalWindow.open({ focus: false });
    void this.trackPending();
    if (this.isUnlocked()) for (const batch of this.batches.running()) this.continueBatch(batch);
  }

  // ---- MethodBackend ------------------------------------------------------------------------------

  isUnlocked(): boolean {
    return this.vaultSession.vault !== null;
  }

  now(): number {
    return this.ports.clock.now();
  }

  newId(): string {
    return randomId();
  }

  async rpc(chainId: number, method: string, params: readonly unknown[]): Promise<unknown> {
    const network = findNetwork(await this.state.read(), chainId);
    if (!network) throw rpcErrors.chainDisconnected(`Duet has no network with chain ID ${chainId}.`);
    // RPC URLs are in the vault: a locked Duet does not know them.
    if (!this.isUnlocked()) throw rpcErrors.chainDisconnected(`Duet is locked: unlock it to reach ${network.name}.`);
    return callRpc(this.ports.fetch, network, method, params);
  }

  /**
   * Resolves once Duet is unlocked. While locked, the approval window asks for the password (the
   * site's request waits, as with MetaMask); closing the window is 4001. 4100 before setup.
   */
  async whenUnlocked({ origin }: RequestContext): Promise<void> {
    if (this.isUnlocked()) return;
    if (!(await this.vaultSession.exists())) throw rpcErrors.unauthorized('Duet is not set up yet: open Duet and pair your phone first.');
    this.throttle.check(origin);
    const limit = (this.ports.queueLimits ?? DEFAULT_QUEUE_LIMITS).requestsPerSite;
    if (this.unlockWaiters.filter((waiter) => waiter.origin === origin).length >= limit) {
      throw rpcErrors.limitExceeded(`${limit} requests from this site are already waiting for Duet to be unlocked. Nothing was queued; try again once it is.`);
    }
    const othersWaiting = this.unlockWaiters.length > 0 || this.queue.awaitingUser().length > 0;
    const unlocked = new Promise<void>((resolve, reject) => this.unlockWaiters.push({ origin, resolve, reject }));
    await this.ports.approvalWindow.open({ focus: !othersWaiting });
    return unlocked;
  }

  private remoteChainId(rpcUrl: string): Promise<number> {
    return fetchChainId(this.ports.fetch, { name: rpcUrl, rpcUrl });
  }

  async askUser(context: RequestContext, fingerprint: string, payload: ApprovalPayload): Promise<unknown> {
    return unwrapOutcome(await (await this.enqueue(context, fingerprint, payload)).outcome);
  }

  /**
   * Queues a request for the user (signing requests with the token details and facts taken for
   * them) and opens the window; resolves once it is queued, with its outcome to come.
   */
  private async enqueue({ origin, requestKey, tabId, embeddedIn }: RequestContext, fingerprint: string, payload: ApprovalPayload): Promise<{ readonly outcome: Promise<ApprovalOutcome> }> {
    this.throttle.check(origin);
    const reviewed = payload.kind === 'sign' ? await this.withFacts(payload) : payload;
    // No await from here to the queue's admission: no other request can take the same nonce.
    const numbered = reviewed.kind === 'sign' ? this.withNextNonce(reviewed) : reviewed;
    const othersWaiting = this.queue.awaitingUser().length > 0;
    const record = await this.queue.add({ id: randomId(), origin, tabId, requestKey, ...(embeddedIn ? { embeddedIn } : {}), fingerprint, payload: numbered, createdAt: this.now() });
    const outcome = this.queue.wait(record.id);
    await this.ports.approvalWindow.open({ focus: !othersWaiting });
    return { outcome };
  }

  /**
   * What the user is shown with a signing request: the details of the tokens it names (the token
   * list, else the network) and the facts observed now (presign-checks.ts).
   */
  private async withFacts(payload: SignPayload, replaces: Replacement | null = null): Promise<SignPayload> {
    const request = decodeSigningRequest(payload.request);
    if (request.facts) return payload;
    const state = await this.state.read();
    const rpc = (method: string, params: readonly unknown[]) => this.rpc(request.chainId, method, params);
    const known = (address: string): TokenInfo | undefined => {
      const token = findToken(state, request.chainId, address);
      return token && { ...token, standard: 'erc20' };
    };
    const [detailed, facts] = await Promise.all([request.tokens ? request : withTokenDetails(request, rpc, known), this.observe(request, state, replaces).catch(() => undefined)]);
    await this.activity?.all();
    return detailed === request && !facts ? payload : { ...payload, request: encodeSigningRequest({ ...detailed, ...(facts ? { facts } : {}) }) };
  }

  private async observe(request: SigningRequest, state: WalletState, replaces: Replacement | null): Promise<PresignFacts | undefined> {
    const currentChainId = siteChainId(state, request.origin);
    if (request.kind === 'typed_data') return messageFacts(currentChainId);
    if (request.kind !== 'transaction') return undefined;
    const activity = this.activity;
    return transactionFacts(
      request,
      {
        rpc: (method, params) => this.rpc(request.chainId, method, params),
        currentChainId,
        // Without the record (never while unlocked) nothing is claimed: no warning.
        interacted: (address) => (activity ? activity.interacted(request.account.address, request.chainId, address) : Promise.resolve(true)),
      },
      replaces,
    );
  }

  /**
   * A nonce Duet chose is moved past every transaction of the account already queued, being
   * co-signed, or sent and still open (synchronously, right before the request is queued).
   */
  private withNextNonce(payload: SignPayload): SignPayload {
    const request = decodeSigningRequest(payload.request);
    if (request.kind !== 'transaction' || !payload.advice?.duetNonce) return payload;
    const nonce = Math.max(request.tx.nonce, this.queuedNonce(request.account.address, request.chainId) ?? 0, this.activity?.nextOpenNonceNow(request.account.address, request.chainId) ?? 0);
    return nonce === request.tx.nonce ? payload : this.renumbered(payload, request, nonce);
  }

  private renumbered(payload: SignPayload, request: TransactionRequest, nonce: number): SignPayload {
    const advice: TransactionAdvice = { ...(payload.advice as TransactionAdvice), nextNonce: nonce };
    return { ...payload, advice, request: encodeSigningRequest({ ...request, tx: { ...request.tx, nonce } }) };
  }

  /** The wallet's network: the popup, Duet's own requests and every page not on a network of its own follow it. */
  async switchChain(chainId: number): Promise<void> {
    if (!(await this.state.update((draft) => switchNetwork(draft, chainId)))) return;
    const ownChain = sitesOnOwnChain(await this.state.read());
    this.ports.pageEvents.toAll('chainChanged', toHexChainId(chainId), ownChain);
    await this.noteCurrentChain(chainId, (origin) => !ownChain.has(origin));
  }

  /** A connected site's own network (MetaMask's per-site network): only that site moves and hears it. */
  async switchSiteChain(origin: string, chainId: number): Promise<void> {
    requireNetwork(await this.state.read(), chainId);
    if (!(await this.state.update((draft) => setSiteChain(draft, origin, chainId)))) return;
    this.ports.pageEvents.toOrigin(origin, 'chainChanged', toHexChainId(chainId));
    await this.noteCurrentChain(chainId, (requester) => requester === origin);
  }

  /** After the user approved a site's switch: a connected site moves alone, any other page moves the wallet. */
  private async moveRequester(origin: string, chainId: number): Promise<void> {
    if ((await this.state.read()).permissions[origin]) await this.switchSiteChain(origin, chainId);
    else await this.switchChain(chainId);
  }

  /** Requests of the sites that moved, waiting for the user, learn their network now (the chain-mismatch warning). */
  private async noteCurrentChain(chainId: number, moved: (origin: string) => boolean): Promise<void> {
    for (const record of this.queue.awaitingUser()) {
      if (record.payload.kind !== 'sign' || !moved(record.origin)) continue;
      const request = decodeSigningRequest(record.payload.request);
      if (!request.facts || request.facts.currentChainId === chainId) continue;
      await this.queue.update(record.id, { payload: { ...record.payload, request: encodeSigningRequest({ ...request, facts: { ...request.facts, currentChainId: chainId } }) } }).catch(() => undefined);
    }
  }

  async announceAccounts(origin: string): Promise<void> {
    this.ports.pageEvents.toOrigin(origin, 'accountsChanged', this.isUnlocked() ? pageAccounts(await this.state.read(), origin) : []);
  }

  hasRequestsAwaitingUser(origin: string): boolean {
    return this.queue.awaitingUser().some((record) => record.origin === origin);
  }

  // ---- EIP-5792 batches ---------------------------------------------------------------------------

  /** Stores the batch, sends its first call (the page waits for that one), then goes on in the background. */
  async sendCalls(context: RequestContext, request: SendCallsRequest & { readonly from: string }): Promise<{ id: string }> {
    const batch: CallBatch = {
      origin: context.origin,
      id: request.id ?? newBatchId(),
      requestKey: context.requestKey,
      tabId: context.tabId,
      embeddedIn: context.embeddedIn,
      chainId: request.chainId,
      from: request.from,
      calls: request.calls,
      hashes: [],
      state: 'running',
      createdAt: this.now(),
    };
    await this.batches.add(batch);
    let hash: string;
    try {
      hash = await this.sendBatchCall(batch, 0);
    } catch (error) {
      await this.batches.remove(batch.origin, batch.id);
      throw error;
    }
    const updated = await this.batches.update(batch.origin, batch.id, { hashes: [hash], state: batch.calls.length === 1 ? 'done' : 'running' });
    if (updated && updated.state === 'running') this.continueBatch(updated);
    return { id: batch.id };
  }

  async callsStatus(origin: string, id: string): Promise<unknown> {
    const batch = this.batches.get(origin, id);
    if (!batch) throw new ProviderRpcError(Eip5792ErrorCode.unknownBundleId, `This site sent no batch with the id ${id}.`);
    const receipts = await Promise.all(batch.hashes.map((hash) => this.rpc(batch.chainId, 'eth_getTransactionReceipt', [hash]) as Promise<Record<string, unknown> | null>));
    return callsStatus(batch, receipts);
  }

  /** Call `index` of a batch, through eth_sendTransaction with a request key of its own (resumable after a restart). */
  private async sendBatchCall(batch: CallBatch, index: number): Promise<string> {
    const call = batch.calls[index] as CallBatch['calls'][number];
    const tx = { from: batch.from, ...(call.to ? { to: call.to } : {}), data: call.data, value: call.value };
    const context: RequestContext = { origin: batch.origin, requestKey: `${batch.requestKey}/${index}`, tabId: batch.tabId, embeddedIn: batch.embeddedIn, batchCall: { index, count: batch.calls.length } };
    const hash = await this.request('eth_sendTransaction', [tx], context);
    if (typeof hash !== 'string') throw rpcErrors.internal('The network returned no transaction hash.');
    return hash;
  }

  /** The receipt of `hash` once mined (null if it is not within BATCH_RECEIPT_WAIT_MS). */
  private async minedReceipt(chainId: number, hash: string): Promise<{ status?: unknown } | null> {
    const deadline = this.now() + BATCH_RECEIPT_WAIT_MS;
    for (;;) {
      const receipt = (await this.rpc(chainId, 'eth_getTransactionReceipt', [hash]).catch(() => null)) as { status?: unknown } | null;
      if (receipt || this.now() >= deadline) return receipt;
      await new Promise<void>((resolve) => this.ports.clock.after(BATCH_RECEIPT_POLL_MS, resolve));
    }
  }

  /** Sends the batch's remaining calls one after the other, each once the previous one is mined and succeeded. */
  private continueBatch(start: CallBatch): void {
    void (async () => {
      let batch = start;
      while (batch.state === 'running' && batch.hashes.length < batch.calls.length) {
        const previous = await this.minedReceipt(batch.chainId, batch.hashes.at(-1) as string);
        let next: Partial<Pick<CallBatch, 'hashes' | 'state'>>;
        if (previous?.status !== '0x1') next = { state: 'stopped' };
        else {
          try {
            const hash = await this.sendBatchCall(batch, batch.hashes.length);
            const hashes = [...batch.hashes, hash];
            next = { hashes, state: hashes.length === batch.calls.length ? 'done' : 'running' };
          } catch {
            next = { state: 'stopped' };
          }
        }
        const updated = await this.batches.update(batch.origin, batch.id, next);
        if (!updated) return;
        batch = updated;
      }
    })();
  }

  queuedNonce(address: string, chainId: number): number | null {
    let account: string;
    try {
      account = getAddress(address);
    } catch {
      return null;
    }
    let next: number | null = null;
    for (const record of this.queue.open()) {
      if (record.payload.kind !== 'sign' || record.payload.method !== 'eth_sendTransaction') continue;
      const request = decodeSigningRequest(record.payload.request);
      if (request.kind === 'transaction' && request.chainId === chainId && request.account.address === account) next = Math.max(next ?? 0, request.tx.nonce + 1);
    }
    return next;
  }

  // ---- pages --------------------------------------------------------------------------------------

  /**
   * A provider request from a page. A re-sent request (same origin and key) joins its record, or,
   * while the first copy is still on its way to the queue (the bridge re-sends what is unanswered
   * when it reconnects), that copy's answer.
   */
  async request(method: string, params: unknown, context: RequestContext): Promise<unknown> {
    const open = this.queue.findOpen(context.origin, context.requestKey);
    if (open) return unwrapOutcome(await this.queue.wait(open.id));
    const finished = this.queue.findOutcome(context.origin, context.requestKey);
    if (finished) return unwrapOutcome(finished);
    const key = JSON.stringify([context.origin, context.requestKey]);
    const arriving = this.arriving.get(key);
    if (arriving) return arriving;
    const handled = this.router.handle(method, params, context);
    this.arriving.set(key, handled);
    try {
      return await handled;
    } finally {
      this.arriving.delete(key);
    }
  }

  /** What a newly connected page learns at once: the chain, and its accounts if any. */
  async pageSnapshot(origin: string): Promise<{ chainId: string; accounts: string[]; isUnlocked: boolean }> {
    const state = await this.state.read();
    return { chainId: toHexChainId(siteChainId(state, origin)), accounts: this.isUnlocked() ? pageAccounts(state, origin) : [], isUnlocked: this.isUnlocked() };
  }

  async setPageSettings(input: { readonly metaMaskFlag: unknown; readonly keepWindowEthereum: unknown }): Promise<void> {
    await writePageSettings(this.ports.local, input);
  }

  /**
   * Which site is on which network is in the vault: a locked Duet answers every page with the
   * wallet's network. Sites on another one of their own hear it at unlock, and the wallet's at lock.
   */
  private async announceSiteChains(toWallet = false): Promise<void> {
    const state = await this.state.read();
    for (const origin of sitesOnOwnChain(state)) {
      const chainId = siteChainId(state, origin);
      if (chainId !== state.activeChainId) this.ports.pageEvents.toOrigin(origin, 'chainChanged', toHexChainId(toWallet ? state.activeChainId : chainId));
    }
  }

  private async announceAllAccounts(): Promise<void> {
    for (const origin of connectedOrigins(await this.state.read())) await this.announceAccounts(origin);
  }

  // ---- vault --------------------------------------------------------------------------------------

  async view(): Promise<WalletView> {
    const state = await this.state.read();
    const current = this.queue.current();
    const siteWaiting = current ? this.queue.awaitingUser().filter((record) => record.origin === current.origin).length : 0;
    return {
      vaultExists: await this.vaultSession.exists(),
      unlocked: this.isUnlocked(),
      unlockRequested: this.unlockWaiters.length > 0,
      paired: state.accounts.length > 0,
      state,
      pairing: this.link?.pairing.progress() ?? IDLE_PAIRING,
      phone: this.link?.coSigner.status(state.defaultCoSigner) ?? OFFLINE_PHONE,
      members: this.link?.members?.view() ?? null,
      guard: this.link?.members?.guard?.progress() ?? IDLE_GUARD_LINK,
      guardPanel: this.guardPanelView(),
      guardRecovery: this.link?.members?.guardRecovery?.view() ?? null,
      guardDecision: current ? this.guardDecision(current) : null,
      joining: this.link?.members?.joiningView() ?? null,
      approval: current ? approvalCard(current, state, siteWaiting) : null,
      approvals: this.queue.visible().map(approvalSummary),
      pageSettings: await readPageSettings(this.ports.local),
    };
  }

  async create(password: string, settings: { relayUrl?: string; phoneAppUrl?: string; rpcUrl?: string }): Promise<void> {
    const rpcUrl = settings.rpcUrl ? parseRpcUrl(settings.rpcUrl, 'rpcUrl') : undefined;
    const phoneAppProblem = settings.phoneAppUrl ? phoneAppUrlProblem(settings.phoneAppUrl) : null;
    if (phoneAppProblem) throw new WalletActionError('invalid_input', `The phone app address is refused: ${phoneAppProblem}.`, 'phoneAppUrl');
    const vault = await this.vaultSession.create(password);
    await this.state.open(vault);
    this.activity = new ActivityLog(vault);
    await this.state.update((draft) => {
      if (settings.relayUrl) draft.relayUrl = settings.relayUrl;
      if (settings.phoneAppUrl) draft.phoneAppUrl = settings.phoneAppUrl;
      if (rpcUrl) setNetworkRpcUrl(draft, draft.activeChainId, rpcUrl);
    });
    this.openLink(vault, await this.state.read());
    await this.touch();
  }

  async unlock(password: string): Promise<void> {
    await this.opened(await this.vaultSession.unlock(password));
    await this.touch();
    await this.announceSiteChains();
    await this.announceAllAccounts();
    this.ports.pageEvents.toAll('unlockStateChanged', true);
    for (const waiter of this.unlockWaiters.splice(0)) waiter.resolve();
    for (const batch of this.batches.running()) this.continueBatch(batch);
    void this.trackPending();
  }

  /** The vault is open (unlocked, or restored after a restart): its records, then the phone link. */
  private async opened(vault: UnlockedVault): Promise<void> {
    await this.state.open(vault);
    this.activity = new ActivityLog(vault);
    this.openLink(vault, await this.state.read());
  }

  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await this.vaultSession.changePassword(currentPassword, newPassword);
    await this.touch();
  }

  async lock(): Promise<void> {
    const origins = connectedOrigins(await this.state.read());
    await this.announceSiteChains(true);
    for (const [, flight] of this.inFlight) flight.controller.abort(new SigningStopped('locked'));
    this.link?.close();
    this.link = null;
    this.stopTracking?.();
    this.stopTracking = null;
    this.activity = null;
    await this.vaultSession.lock();
    this.state.close();
    await this.ports.alarms.clear(AUTO_LOCK_ALARM);
    for (const origin of origins) this.ports.pageEvents.toOrigin(origin, 'accountsChanged', []);
    this.ports.pageEvents.toAll('unlockStateChanged', false);
  }

  /** Any use of Duet's own pages re-arms auto-lock. */
  async touch(): Promise<void> {
    if (this.isUnlocked()) await armAutoLock(this.ports.alarms, (await this.state.read()).autoLockMinutes);
  }

  async setAutoLock(minutes: unknown): Promise<void> {
    if (typeof minutes !== 'number' || !AUTO_LOCK_CHOICES_MINUTES.includes(minutes)) throw new WalletActionError('invalid_input', `Auto-lock must be one of ${AUTO_LOCK_CHOICES_MINUTES.join(', ')} minutes (0 = off).`, 'minutes');
    await this.state.update((draft) => {
      draft.autoLockMinutes = minutes;
    });
    await this.touch();
  }

  private requireVault(): UnlockedVault {
    const vault = this.vaultSession.vault;
    if (!vault) throw new WalletActionError('locked', 'Duet is locked. Unlock it first.');
    return vault;
  }

  private requireLink(): PhoneLink {
    this.requireVault();
    if (!this.link) throw new WalletActionError('locked', 'Duet is locked. Unlock it first.');
    return this.link;
  }

  /** Switches the direct path on or off and sets its ICE servers (one per line, see ice-servers.ts). */
  async setDirectPath(enabled: boolean, iceServerLines: string): Promise<void> {
    let iceServers;
    try {
      iceServers = parseIceServerLines(iceServerLines);
    } catch (error) {
      if (error instanceof IceServerError) throw new WalletActionError('invalid_input', error.message, 'iceServers');
      throw error;
    }
    const directPath = { enabled, iceServers };
    await this.state.update((draft) => {
      draft.directPath = directPath;
    });
    this.directPath = directPath;
    this.link?.directPathChanged?.();
  }

  private openLink(vault: UnlockedVault, state: WalletState): void {
    this.link?.close();
    this.directPath = state.directPath;
    this.link = this.ports.phoneLinks({
      directPath: () => this.directPath,
      secrets: vault,
      relayUrl: state.relayUrl,
      phoneAppUrl: state.phoneAppUrl,
      now: () => this.now(),
      completePairing: (result, linkRecords) => this.completePairing(result, linkRecords),
      seen: (at) => void this.recordSeen(at),
      joined: (pairedKey) => this.joined(pairedKey),
      settings: (body) => void this.restoreSettings(body),
      membersChanged: () => this.membersChanged(),
    });
  }

  // ---- pairing and devices ------------------------------------------------------------------------

  async startPairing(kind: PairingKind = 'new-wallet', replace?: string): Promise<void> {
    if (replace !== undefined && !this.link?.members?.view()?.members.some((row) => row.key === replace && !row.self)) throw new WalletActionError('not_found', 'No such device to replace.', 'replace');
    await this.requireLink().pairing.start(kind, replace);
  }

  confirmSas(matches: boolean): void {
    this.requireLink().pairing.confirmSas(matches);
  }

  cancelPairing(): void {
    this.requireLink().pairing.cancel();
  }

  private async completePairing(result: PairingResult, linkRecords: Record<string, unknown>): Promise<void> {
    const vault = this.requireVault();
    const pairedKey = parsePairedKey(result.pairedKey);
    const previous = await this.pairedKey();
    await vault.putMany({ ...linkRecords, [PAIRED_KEY_RECORD]: pairedKey });
    const now = this.now();
    if (previous && previous.publicKey === pairedKey.publicKey && previous.chainCode === pairedKey.chainCode) {
      await this.recordSeen(now);
      return;
    }
    const origins = connectedOrigins(await this.state.read());
    await this.state.update((draft) => {
      draft.accounts = [{ index: 0, address: deriveAccountAddress(pairedKey, 0), name: defaultAccountName(0) }];
      draft.activeAccount = 0;
      draft.permissions = {};
      draft.devices = [{ id: randomId(), name: result.deviceName, pairedAt: now, lastSeen: now }];
    });
    for (const origin of origins) this.ports.pageEvents.toOrigin(origin, 'accountsChanged', []);
    await this.shareSettings('new-members');
  }

  /**
   * This browser joined a wallet (a recovery in a new browser): the accounts come from its key;
   * their names and the networks from the settings record a member sends next (which may arrive
   * while these defaults are being stored: it waits for them).
   */
  private joined(pairedKey: PairedKey): Promise<void> {
    const now = this.now();
    const ready = (async () => {
      await this.requireVault().putMany({ [PAIRED_KEY_RECORD]: pairedKey });
      await this.state.update((draft) => {
        draft.accounts = [{ index: 0, address: deriveAccountAddress(pairedKey, 0), name: defaultAccountName(0) }];
        draft.activeAccount = 0;
        draft.permissions = {};
        draft.devices = [{ id: randomId(), name: 'Wallet members', pairedAt: now, lastSeen: now }];
      });
    })();
    this.restore = { key: pairedKey, ready };
    return ready;
  }

  /** The settings record after a recovery: account names, networks and RPC URLs come back. */
  private async restoreSettings(body: SettingsBody): Promise<void> {
    const restore = this.restore;
    if (!restore) return;
    this.restore = null;
    await restore.ready;
    const pairedKey = restore.key;
    await this.state.update((draft) => {
      const accounts = [...body.accounts].sort((a, b) => a.index - b.index).slice(0, 100);
      if (accounts.length > 0) draft.accounts = accounts.map((account) => ({ index: account.index, address: deriveAccountAddress(pairedKey, account.index), name: parseAccountName(account.name, 'name') }));
      for (const network of body.networks) {
        const known = findNetwork(draft, network.chainId);
        if (known) setNetworkRpcUrl(draft, network.chainId, network.rpcUrl);
        else addNetwork(draft, { chainId: network.chainId, name: network.name, symbol: network.symbol, rpcUrl: network.rpcUrl, ...(network.explorerUrl ? { explorerUrl: network.explorerUrl } : {}) });
      }
      if (findNetwork(draft, body.activeChainId)) draft.activeChainId = body.activeChainId;
      draft.activeAccount = draft.accounts[0]?.index ?? 0;
    });
    await this.announceAllAccounts();
  }

  /**
   * What a new browser of this wallet needs to look like this one; every member keeps it: sent when
   * the user changes accounts or networks, and to new members. A browser that just recovered the
   * wallet sends nothing until a member's record restored it (or its user changed something): its
   * default accounts would otherwise replace the record the members keep.
   */
  private async shareSettings(why: 'changed' | 'new-members'): Promise<void> {
    if (why === 'changed') this.restore = null;
    else if (this.restore) return;
    const members = this.link?.members;
    if (!members || !this.isUnlocked()) return;
    const state = await this.state.read();
    if (state.accounts.length === 0) return;
    members.shareSettings({
      accounts: state.accounts.map((account) => ({ index: account.index, name: account.name })),
      networks: state.networks.filter((network) => network.rpcUrl).map((network) => ({ chainId: network.chainId, name: network.name, symbol: network.symbol, rpcUrl: network.rpcUrl, ...(network.explorerUrl ? { explorerUrl: network.explorerUrl } : {}) })),
      activeChainId: state.activeChainId,
    });
  }

  /** The members changed: a new epoch means new members may lack the settings record. */
  private membersChanged(): void {
    const epoch = this.link?.members?.view()?.epoch ?? null;
    if (epoch !== null && epoch !== this.settingsEpoch) {
      this.settingsEpoch = epoch;
      void this.shareSettings('new-members');
    }
  }

  // ---- members ------------------------------------------------------------------------------------

  private requireMembers(): MembersDriver {
    const members = this.requireLink().members;
    if (!members?.view()) throw new WalletActionError('not_paired', 'Pair your phone first.');
    return members;
  }

  decideMember(id: string, yes: boolean): void {
    this.requireLink().members?.decide(id, yes);
  }

  async removeMember(key: string, dealer: string): Promise<void> {
    const members = this.requireMembers();
    const view = members.view() as MembersView;
    const target = view.members.find((row) => row.key === key);
    if (!target || target.self) throw new WalletActionError('not_found', 'No such device to remove.', 'key');
    if (!view.members.some((row) => row.key === dealer && !row.self && row.key !== key)) throw new WalletActionError('invalid_input', 'Choose a device that stays to remove it with.', 'dealer');
    await members.remove(key, dealer);
  }

  async retryMemberChange(): Promise<void> {
    await this.requireMembers().retry();
  }

  cancelMemberChange(): void {
    this.requireLink().members?.cancel();
  }

  async cutOffRemoved(): Promise<void> {
    await this.requireMembers().cutOffRemoved();
  }

  async renameMember(key: string, name: unknown): Promise<void> {
    await this.requireMembers().rename(key, parseAccountName(name, 'name'));
  }

  // ---- the Duet Guard -----------------------------------------------------------------------------

  guard(): GuardDriver {
    const guard = this.requireMembers().guard;
    if (!guard) throw new WalletActionError('not_paired', 'This browser cannot add a Duet Guard.');
    return guard;
  }

  private guardPanelView(): GuardPanelView | null {
    const panel = this.link?.members?.guard?.panel() ?? null;
    return panel ? guardPanelView(panel, this.now()) : null;
  }

  /** The Guard's driver for a browser that joins a wallet too (it links to the Guard that deals it its share, and compares its code). */
  linkingGuard(): GuardDriver {
    const guard = this.requireLink().members?.guard;
    if (!guard) throw new WalletActionError('not_paired', 'This browser cannot link to a Duet Guard.');
    return guard;
  }

  async linkGuardAsDevice(link: string): Promise<void> {
    const guard = this.linkingGuard();
    await this.guardErrors(() => guard.linkDevice(link.trim()), 'link');
  }

  private guardDecision(record: ApprovalRecord): WalletView['guardDecision'] {
    const id = record.payload.kind === 'sign' ? record.payload.request.id : null;
    const decision = typeof id === 'string' ? (this.link?.members?.guard?.decision(id) ?? null) : null;
    if (!decision) return null;
    return { verdict: decision.verdict, until: decision.until, reasons: decision.reasons.map((reason) => describeReason(reason, { now: this.now() })) };
  }

  /** The authenticator app's code for the request on screen (the Guard asked for it). */
  async enterGuardCode(id: string, code: string): Promise<void> {
    const record = this.queue.get(id);
    const requestId = record?.payload.kind === 'sign' ? record.payload.request.id : null;
    if (typeof requestId !== 'string') throw new WalletActionError('not_found', 'No such request waits for a code.', 'id');
    await this.guardAction((guard) => guard.enterCode(requestId, code), 'code');
  }

  async enrolGuard(url: string, code: string): Promise<void> {
    if (url.trim().length === 0) throw new WalletActionError('invalid_input', 'Type the address the Guard printed.', 'url');
    await this.guardAction((guard) => guard.enrol(url.trim(), code.trim()), code.trim() === '' ? 'code' : null);
  }

  /** Runs a Guard step; the Guard's and the link's typed errors become the page's (never with a secret). */
  async guardAction(step: (guard: GuardDriver) => Promise<void>, field: string | null = null): Promise<void> {
    await this.guardErrors(() => step(this.guard()), field);
  }

  /** Replacing a lost phone with the Guard as dealer: one step of GuardRecoveryDriver. */
  async guardRecovery(op: string, code: string): Promise<void> {
    const recovery = this.requireMembers().guardRecovery;
    if (!recovery) throw new WalletActionError('not_paired', 'This browser cannot recover with a Duet Guard.');
    const steps: Record<string, () => Promise<void>> = { link: () => recovery.newDeviceLink(), open: () => recovery.open(code), refresh: () => recovery.refresh(), finish: () => recovery.finish(), reopen: () => recovery.reopen(), cancel: () => recovery.cancel() };
    const step = steps[op];
    if (!step) throw new WalletActionError('invalid_input', 'No such recovery step.', 'op');
    await this.guardErrors(step, op === 'open' ? 'code' : null);
  }

  private async guardErrors(step: () => Promise<void>, field: string | null): Promise<void> {
    try {
      await step();
    } catch (error) {
      if (error instanceof GuardEnrolError || error instanceof GuardRequestError || error instanceof SessionError) throw new WalletActionError('invalid_input', error.message, field ?? (error.code === 'bad_code' || error.code === 'wrong_code' ? 'code' : null));
      if (error instanceof CoSignerFailedError) throw new WalletActionError('not_paired', error.message);
      throw error;
    }
  }

  async setDefaultCoSigner(key: string | null): Promise<void> {
    if (key !== null && !this.requireMembers().view()?.members.some((row) => row.key === key && row.coSigns)) throw new WalletActionError('invalid_input', 'This device does not co-sign with this browser.', 'key');
    await this.state.update((draft) => {
      draft.defaultCoSigner = key;
    });
  }

  /** "Ask another device": the request waiting for its co-signer goes to `key` instead. */
  async coSignWith(id: string, key: string): Promise<void> {
    const record = this.queue.get(id);
    const flight = this.inFlight.get(id);
    if (!record || record.status !== 'co-signing' || record.payload.kind !== 'sign' || !flight) throw new WalletActionError('not_found', 'This request is not waiting for a co-signer.', 'id');
    if (!this.link?.members?.view()?.members.some((row) => row.key === key && row.coSigns)) throw new WalletActionError('invalid_input', 'This device does not co-sign with this browser.', 'key');
    await this.queue.update(id, { payload: { ...record.payload, via: key } });
    flight.controller.abort(new SigningStopped('switched'));
  }

  private async pairedKey(): Promise<PairedKey | null> {
    const stored = await this.requireVault().get<unknown>(PAIRED_KEY_RECORD);
    return stored === undefined ? null : parsePairedKey(stored);
  }

  private async recordSeen(at: number): Promise<void> {
    if (at - this.lastSeenWritten < LAST_SEEN_WRITE_INTERVAL_MS) return;
    this.lastSeenWritten = at;
    await this.state.update((draft) => {
      draft.devices = draft.devices.map((device) => ({ ...device, lastSeen: at }));
    });
  }

  /** The phone refused this browser after a failed signature: shown on Home and Devices for good. */
  private async recordTaint(): Promise<void> {
    const at = this.now();
    await this.state.update((draft) => {
      draft.devices = draft.devices.map((device) => (device.taintedAt ? device : { ...device, taintedAt: at }));
    });
  }

  async renameDevice(id: unknown, name: unknown): Promise<void> {
    const deviceName = parseAccountName(name, 'name');
    await this.state.update((draft) => {
      if (!draft.devices.some((device) => device.id === id)) throw new WalletActionError('not_found', 'No such device.', 'id');
      draft.devices = draft.devices.map((device): PairedDevice => (device.id === id ? { ...device, name: deviceName } : device));
    });
  }

  /** Forgets the phone: its key share and the paired key leave the vault; accounts and connections go. */
  async unpairDevice(id: unknown): Promise<void> {
    const link = this.requireLink();
    const state = await this.state.read();
    if (!state.devices.some((device) => device.id === id)) throw new WalletActionError('not_found', 'No such device.', 'id');
    for (const record of this.queue.open()) {
      this.inFlight.get(record.id)?.controller.abort(new SigningStopped('cancelled'));
      if (record.status === 'awaiting-user') await this.finishRecord(record, { error: rpcErrors.unauthorized('The phone was unpaired.').toJSON() }, 'The phone was unpaired.', 'error');
    }
    await link.forget();
    await this.requireVault().delete(PAIRED_KEY_RECORD);
    const origins = connectedOrigins(state);
    await this.state.update((draft) => {
      draft.devices = [];
      draft.accounts = [];
      draft.activeAccount = 0;
      draft.permissions = {};
    });
    for (const origin of origins) this.ports.pageEvents.toOrigin(origin, 'accountsChanged', []);
  }

  // ---- accounts -----------------------------------------------------------------------------------

  async addAccount(name: unknown): Promise<void> {
    const pairedKey = await this.pairedKey();
    if (!pairedKey) throw new WalletActionError('not_paired', 'Pair your phone first.');
    const chosen = name === undefined || name === '' ? null : parseAccountName(name, 'name');
    await this.state.update((draft) => {
      const index = draft.accounts.reduce((max, account) => Math.max(max, account.index), -1) + 1;
      draft.accounts = [...draft.accounts, { index, address: deriveAccountAddress(pairedKey, index), name: chosen ?? defaultAccountName(index) }];
      draft.activeAccount = index;
    });
    await this.announceAllAccounts();
    await this.shareSettings('changed');
  }

  async renameAccount(index: unknown, name: unknown): Promise<void> {
    const accountName = parseAccountName(name, 'name');
    await this.state.update((draft) => {
      if (!draft.accounts.some((account) => account.index === index)) throw new WalletActionError('not_found', 'No such account.', 'index');
      draft.accounts = draft.accounts.map((account) => (account.index === index ? { ...account, name: accountName } : account));
    });
    await this.shareSettings('changed');
  }

  async selectAccount(index: unknown): Promise<void> {
    await this.state.update((draft) => {
      if (!draft.accounts.some((account) => account.index === index)) throw new WalletActionError('not_found', 'No such account.', 'index');
      draft.activeAccount = index as number;
    });
    await this.announceAllAccounts();
  }

  /** The active account's balance on the active network (wei, 0x-hex), or null if the node is unreachable. */
  async balance(): Promise<string | null> {
    const state = await this.state.read();
    const account = activeAccountEntry(state);
    if (!account) return null;
    try {
      const result = await callRpc(this.ports.fetch, activeNetwork(state), 'eth_getBalance', [account.address, 'latest']);
      return typeof result === 'string' ? result : null;
    } catch {
      return null;
    }
  }

  // ---- send, tokens, activity (the popup) ---------------------------------------------------------

  /** The active account and network, with a node to ask; what every popup wallet action starts from. */
  private async activeContext(): Promise<{ state: WalletState; account: string; chainId: number; symbol: string; rpc: (method: string, params: readonly unknown[]) => Promise<unknown> }> {
    this.requireVault();
    const state = await this.state.read();
    const account = activeAccountEntry(state);
    if (!account) throw new WalletActionError('not_paired', 'Pair your phone first.');
    const network = activeNetwork(state);
    return { state, account: account.address, chainId: network.chainId, symbol: network.symbol, rpc: (method, params) => this.rpc(network.chainId, method, params) };
  }

  private tokenOrNative(state: WalletState, chainId: number, asset: unknown): TokenEntry | null {
    if (asset === 'native') return null;
    const token = typeof asset === 'string' && /^0x[0-9a-fA-F]{40}$/.test(asset) ? findToken(state, chainId, asset) : undefined;
    if (!token) throw new WalletActionError('invalid_input', 'Choose ETH or a token from your list.', 'asset');
    return token;
  }

  /** Fees, balance and the largest amount for a send of `asset` ("native" or a listed token's address). */
  async sendQuote(asset: unknown, to: unknown): Promise<SendQuote> {
    const { state, account, chainId, symbol, rpc } = await this.activeContext();
    const token = this.tokenOrNative(state, chainId, asset);
    const recipient = typeof to === 'string' && to.trim() !== '' ? parseRecipient(to) : null;
    return quoteSend(rpc, account, token, recipient, symbol);
  }

  /**
   * A send from the popup: checked (recipient, amount, funds for amount and maximum fee at the
   * quoted fees), then queued like a site's transaction — approval window, phone — from Duet's own
   * origin. Resolves once it waits in the window; the outcome lands in the activity record.
   */
  async send(input: { readonly asset: unknown; readonly to: unknown; readonly amount: unknown; readonly gas: unknown; readonly maxFeePerGas: unknown; readonly maxPriorityFeePerGas: unknown }): Promise<void> {
    const { state, account, chainId, symbol, rpc } = await this.activeContext();
    const token = this.tokenOrNative(state, chainId, input.asset);
    const to = parseRecipient(input.to);
    const amount = parseAmount(input.amount, token ? token.decimals : 18);
    const wei = (value: unknown, field: string) => {
      if (typeof value !== 'string' || !/^\d{1,78}$/.test(value)) throw new WalletActionError('invalid_input', 'Get a fee quote first.', field);
      return BigInt(value);
    };
    const gas = wei(input.gas, 'gas');
    const maxFeePerGas = wei(input.maxFeePerGas, 'maxFeePerGas');
    const maxPriorityFeePerGas = wei(input.maxPriorityFeePerGas, 'maxPriorityFeePerGas');
    if (maxPriorityFeePerGas > maxFeePerGas || gas < 21_000n) throw new WalletActionError('invalid_input', 'Get a fee quote first.', 'maxFeePerGas');
    checkFunds(await quoteSend(rpc, account, token, to, symbol), token, amount, gas, maxFeePerGas);
    const plan = sendPlan(token, to, amount);
    const params = [{ from: account, to: plan.to, value: `0x${plan.value.toString(16)}`, data: plan.data, gas: `0x${gas.toString(16)}`, maxFeePerGas: `0x${maxFeePerGas.toString(16)}`, maxPriorityFeePerGas: `0x${maxPriorityFeePerGas.toString(16)}` }];
    await this.queueFromWallet(chainId, params, null);
  }

  /** Builds a transaction for the active account as a site's would be built, and queues it from Duet's origin. */
  private async queueFromWallet(chainId: number, params: readonly Record<string, unknown>[], replaces: { readonly replacement: Replacement; readonly nonce: number } | null): Promise<void> {
    const state = await this.state.read();
    const lookup = (address: string) => {
      const entry = state.accounts.find((candidate) => candidate.address === getAddress(address));
      if (!entry) throw new WalletActionError('not_found', 'This account is not in Duet.', 'from');
      return { index: entry.index, address: entry.address };
    };
    const base = { id: randomId(), origin: WALLET_ORIGIN, chainId, createdAt: this.now() };
    const { request, advice } = await reachable(transactionRequest(params, base, lookup, { rpc: (method, rpcParams) => this.rpc(chainId, method, rpcParams), queuedNonce: this.queuedNonce(params[0]?.from as string, chainId) }));
    // A replacement's nonce is meant to be taken: no "not the next nonce" warning.
    const payload: SignPayload = { kind: 'sign', method: 'eth_sendTransaction', request: encodeSigningRequest(request), advice: replaces ? { ...advice, nextNonce: replaces.nonce } : advice };
    const reviewed = replaces ? await this.withFacts(payload, replaces.replacement) : payload;
    // The popup does not wait for the outcome (it may close when the window opens): Activity shows it.
    await this.enqueue({ origin: WALLET_ORIGIN, requestKey: `wallet:${base.id}`, tabId: null, embeddedIn: null }, requestFingerprint(WALLET_ORIGIN, 'eth_sendTransaction', params), reviewed);
  }

  /** Speed up or cancel a pending transaction: same nonce, higher fees, co-signed like any other. */
  async replaceTransaction(id: unknown, action: 'speed-up' | 'cancel'): Promise<void> {
    this.requireVault();
    const entry = typeof id === 'string' ? await this.activity?.get(id) : undefined;
    if (!entry?.tx || (entry.status !== 'pending' && entry.status !== 'signed') || entry.tx.hash === null) throw new WalletActionError('not_found', 'This transaction is no longer pending.', 'id');
    const rpc = (method: string, params: readonly unknown[]) => this.rpc(entry.chainId, method, params);
    const [block, tip] = await reachable(Promise.all([rpc('eth_getBlockByNumber', ['latest', false]), rpc('eth_maxPriorityFeePerGas', []).catch(() => null)]));
    const baseFee = (block as { baseFeePerGas?: string } | null)?.baseFeePerGas;
    const fields = replacementParams(entry.tx, entry.account, action, { baseFee: baseFee ? BigInt(baseFee) : 0n, tip: typeof tip === 'string' ? BigInt(tip) : 0n });
    const hex = (value: bigint) => `0x${value.toString(16)}`;
    // A network without a base fee takes legacy transactions: the replacement pays the raised max fee as its gas price.
    const fees = baseFee ? { maxFeePerGas: hex(fields.maxFeePerGas), maxPriorityFeePerGas: hex(fields.maxPriorityFeePerGas) } : { gasPrice: hex(fields.maxFeePerGas) };
    const params = [{ from: entry.account, ...(fields.to ? { to: fields.to } : {}), value: hex(fields.value), data: fields.data, gas: hex(fields.gas), nonce: hex(BigInt(fields.nonce)), ...fees }];
    await this.queueFromWallet(entry.chainId, params, { replacement: { action, hash: entry.tx.hash }, nonce: fields.nonce });
  }

  /** The active account's activity on the active network, newest first, with the explorer's base URL. */
  async activityView(): Promise<{ readonly entries: readonly ActivityEntry[]; readonly explorerUrl: string | null }> {
    const { state, account, chainId } = await this.activeContext();
    const entries = (await this.activity?.list(account, chainId)) ?? [];
    return { entries: entries.map((entry) => (entry.tx ? { ...entry, tx: { ...entry.tx, raw: null } } : entry)), explorerUrl: activeNetwork(state).explorerUrl ?? null };
  }

  /** The active network's token list with the active account's balances (raw units, null if unreadable). */
  async tokensView(): Promise<readonly (TokenEntry & { readonly balance: string | null })[]> {
    const { state, account, chainId, rpc } = await this.activeContext();
    return Promise.all(tokensOn(state, chainId).map(async (token) => ({ ...token, balance: (await tokenBalance(rpc, token.address, account))?.toString() ?? null })));
  }

  async addTokenFromUi(address: unknown): Promise<void> {
    const { chainId, rpc } = await this.activeContext();
    if (typeof address !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(address.trim())) throw new WalletActionError('invalid_input', 'Enter the token contract address: 0x followed by 40 hexadecimal characters.', 'address');
    let checked: string;
    try {
      checked = getAddress(address.trim());
    } catch {
      throw new WalletActionError('invalid_input', 'This address has a wrong checksum (upper and lower case letters).', 'address');
    }
    const token = await reachable(readTokenMetadata(rpc, checked));
    if (!(await addWatchedToken(this.state, chainId, token))) throw new WalletActionError('invalid_input', `${token.symbol} is already in your list.`, 'address');
  }

  async removeTokenFromUi(address: unknown): Promise<void> {
    const { chainId } = await this.activeContext();
    if (typeof address !== 'string') throw new WalletActionError('invalid_input', 'address must be a string.', 'address');
    await removeToken(this.state, chainId, address);
  }

  /** Removes an NFT of the active account from the active network's list. */
  async removeNftFromUi(address: unknown, tokenId: unknown): Promise<void> {
    const { chainId, account } = await this.activeContext();
    if (typeof address !== 'string' || typeof tokenId !== 'string') throw new WalletActionError('invalid_input', 'address and tokenId must be strings.', 'address');
    await removeNft(this.state, chainId, { address, tokenId, account });
  }

  // ---- networks and sites -------------------------------------------------------------------------

  async switchNetworkFromUi(chainId: unknown): Promise<void> {
    if (typeof chainId !== 'number') throw new WalletActionError('invalid_input', 'chainId must be a number.', 'chainId');
    const network = requireNetwork(await this.state.read(), chainId);
    if (!network.rpcUrl) throw new WalletActionError('invalid_input', `Set an RPC URL for ${network.name} first (Networks).`, 'chainId');
    await this.switchChain(chainId);
  }

  private async checkNodeChainId(rpcUrl: string, chainId: number): Promise<void> {
    let reported: number;
    try {
      reported = await this.remoteChainId(rpcUrl);
    } catch {
      throw new WalletActionError('unreachable', `${rpcUrl} cannot be reached.`, 'rpcUrl');
    }
    if (reported !== chainId) throw new WalletActionError('network_mismatch', `${rpcUrl} is chain ${reported}, not ${chainId}.`, 'rpcUrl');
  }

  /** What is wrong with the RPC for `chainId` (for the user's eyes only), or null. */
  private async rpcChainProblem(rpcUrl: string, chainId: number): Promise<string | null> {
    try {
      await this.checkNodeChainId(rpcUrl, chainId);
      return null;
    } catch (error) {
      if (error instanceof WalletActionError) return error.message;
      throw error;
    }
  }

  async addNetworkFromUi(input: NetworkInput): Promise<void> {
    const chainId = typeof input.chainId === 'number' ? input.chainId : parseHexChainId(input.chainId, 'chainId');
    if (!Number.isSafeInteger(chainId) || chainId <= 0) throw new WalletActionError('invalid_input', 'Chain ID must be a positive integer.', 'chainId');
    const request: AddChainRequest = {
      chainId,
      name: parseNetworkName(input.name, 'name'),
      symbol: parseCurrencySymbol(input.symbol, 'symbol'),
      rpcUrl: parseRpcUrl(input.rpcUrl, 'rpcUrl'),
      ...(input.explorerUrl ? { explorerUrl: parseExplorerUrl(input.explorerUrl, 'explorerUrl') } : {}),
    };
    if (findNetwork(await this.state.read(), chainId)) throw new WalletActionError('invalid_input', `Chain ${chainId} is already in Duet.`, 'chainId');
    await this.checkNodeChainId(request.rpcUrl, chainId);
    await this.state.update((draft) => addNetwork(draft, request));
    await this.shareSettings('changed');
  }

  async setNetworkRpc(chainId: unknown, rpcUrl: unknown): Promise<void> {
    if (typeof chainId !== 'number') throw new WalletActionError('invalid_input', 'chainId must be a number.', 'chainId');
    const url = parseRpcUrl(rpcUrl, 'rpcUrl');
    requireNetwork(await this.state.read(), chainId);
    await this.checkNodeChainId(url, chainId);
    await this.state.update((draft) => setNetworkRpcUrl(draft, chainId, url));
    await this.shareSettings('changed');
  }

  async removeNetworkFromUi(chainId: unknown): Promise<void> {
    if (typeof chainId !== 'number') throw new WalletActionError('invalid_input', 'chainId must be a number.', 'chainId');
    const moved = await this.state.update((draft) => {
      removeNetwork(draft, chainId);
      return sitesLeaveChain(draft, chainId);
    });
    const walletChain = toHexChainId((await this.state.read()).activeChainId);
    for (const origin of moved) this.ports.pageEvents.toOrigin(origin, 'chainChanged', walletChain);
    await this.shareSettings('changed');
  }

  async disconnectSite(origin: unknown): Promise<void> {
    if (typeof origin !== 'string') throw new WalletActionError('invalid_input', 'origin must be a string.', 'origin');
    const before = await this.state.read();
    if (!(await this.state.update((draft) => revokeOrigin(draft, origin)))) return;
    this.ports.pageEvents.toOrigin(origin, 'accountsChanged', []);
    // A site no longer connected follows the wallet's network again (MetaMask drops its domain's network).
    if (siteChainId(before, origin) !== before.activeChainId) this.ports.pageEvents.toOrigin(origin, 'chainChanged', toHexChainId(before.activeChainId));
  }

  /** The user moves a connected site to another network (Sites); the network becomes permitted for it. */
  async setSiteNetworkFromUi(origin: unknown, chainId: unknown): Promise<void> {
    if (typeof origin !== 'string' || !(await this.state.read()).permissions[origin]) throw new WalletActionError('not_found', 'This site is not connected.', 'origin');
    if (typeof chainId !== 'number') throw new WalletActionError('invalid_input', 'chainId must be a number.', 'chainId');
    const network = requireNetwork(await this.state.read(), chainId);
    if (!network.rpcUrl) throw new WalletActionError('invalid_input', `Set an RPC URL for ${network.name} first (Networks).`, 'chainId');
    await this.state.update((draft) => permitChain(draft, origin, chainId));
    await this.switchSiteChain(origin, chainId);
  }

  // ---- approvals ----------------------------------------------------------------------------------

  /** The user's answer in the approval window. `accounts` applies to connection requests. */
  async decide(id: string, approved: boolean, accounts?: readonly string[]): Promise<void> {
    const record = this.queue.get(id);
    if (!record || record.status !== 'awaiting-user') throw new WalletActionError('not_found', 'This request is no longer waiting.', 'id');
    if (!approved) {
      await this.finishRecord(record, { error: rpcErrors.userRejected('The user rejected the request in Duet.').toJSON() }, 'Rejected.', 'rejected');
      await this.throttle.rejected(record.origin);
      return;
    }
    this.requireVault();
    if (record.payload.kind === 'connect' && accounts !== undefined) await this.checkAccountChoice(accounts);
    await this.touch();
    await this.throttle.approved(record.origin);
    try {
      await this.execute(record, accounts);
    } catch (error) {
      if (error instanceof WalletActionError) throw error;
      await this.finishRecord(record, { error: toProviderRpcError(error).toJSON() }, error instanceof Error ? error.message : 'Failed.', 'error');
    }
  }

  /** The accounts the user ticked for a connection: at least one, all of them Duet's. */
  private async checkAccountChoice(accounts: readonly string[]): Promise<void> {
    const known = (await this.state.read()).accounts.map((account) => account.address);
    if (accounts.length === 0) throw new WalletActionError('invalid_input', 'Choose at least one account to connect.', 'accounts');
    const unknown = accounts.find((address) => !known.includes(address));
    if (unknown !== undefined) throw new WalletActionError('invalid_input', `Unknown account ${unknown}.`, 'accounts');
  }

  private async execute(record: ApprovalRecord, accounts: readonly string[] | undefined): Promise<void> {
    const payload = record.payload;
    switch (payload.kind) {
      case 'connect': {
        const state = await this.state.read();
        const chosen = accounts ?? [activeAccountEntry(state)?.address].filter((address): address is string => address !== undefined);
        await this.state.update((draft) => grantAccounts(draft, record.origin, chosen, this.now()));
        const updated = await this.state.read();
        await this.announceAccounts(record.origin);
        const result = payload.method === 'eth_requestAccounts' ? pageAccounts(updated, record.origin) : eip2255Permissions(updated, record.origin);
        await this.queue.finish(record.id, { result }, 'Connected.');
        return;
      }
      case 'switch-chain':
        await this.state.update((draft) => permitChain(draft, record.origin, payload.chainId));
        await this.moveRequester(record.origin, payload.chainId);
        await this.queue.finish(record.id, { result: null }, 'Network switched.');
        return;
      case 'watch-asset': {
        const { asset } = payload;
        if (asset.standard === 'erc20') await addWatchedToken(this.state, asset.chainId, asset.token);
        else await addWatchedNft(this.state, asset.chainId, asset.nft);
        await this.queue.finish(record.id, { result: true }, asset.standard === 'erc20' ? `${asset.token.symbol} added to your tokens.` : 'Added to your NFTs.');
        return;
      }
      case 'add-chain': {
        const problem = await this.rpcChainProblem(payload.network.rpcUrl, payload.network.chainId);
        if (problem) {
          // The page learns only that the network was not added, never what the RPC answered.
          await this.queue.finish(record.id, { error: rpcErrors.internal('Duet could not add this network.').toJSON() }, `${problem} The network was not added.`);
          return;
        }
        await this.state.update((draft: Mutable<WalletState>) => {
          if (!findNetwork(draft, payload.network.chainId)) addNetwork(draft, payload.network);
          permitChain(draft, record.origin, payload.network.chainId);
        });
        await this.moveRequester(record.origin, payload.network.chainId);
        await this.queue.finish(record.id, { result: null }, 'Network added.');
        return;
      }
      case 'sign': {
        if (!this.link) throw new WalletActionError('locked', 'Duet is locked. Unlock it first.');
        const approvedRequest = encodeSigningRequest({ ...decodeSigningRequest(payload.request), createdAt: this.now() });
        const updated = await this.queue.update(record.id, { status: 'co-signing', deadline: this.now() + PHONE_WAIT_MS, message: 'Approve on your phone.', payload: { ...payload, request: approvedRequest } });
        if (updated) this.runCoSigning(updated);
        return;
      }
    }
  }

  /** Gives the phone more time. */
  async extendWait(id: string): Promise<void> {
    const record = this.queue.get(id);
    const flight = this.inFlight.get(id);
    if (!record || record.status !== 'co-signing' || !flight) throw new WalletActionError('not_found', 'This request is not waiting for your phone.', 'id');
    const deadline = Math.max(record.deadline ?? this.now(), this.now()) + PHONE_WAIT_EXTENSION_MS;
    await this.queue.update(id, { deadline });
    flight.cancelTimer();
    flight.cancelTimer = this.ports.clock.after(deadline - this.now(), () => flight.controller.abort(new SigningStopped('timeout')));
  }

  cancelWait(id: string): void {
    const flight = this.inFlight.get(id);
    if (!flight) throw new WalletActionError('not_found', 'This request is not waiting for your phone.', 'id');
    flight.controller.abort(new SigningStopped('cancelled'));
  }

  /** The user's fee, gas limit and nonce for a transaction awaiting approval: the edited request replaces it. */
  async editTransaction(id: string, edits: TransactionEdits): Promise<void> {
    const record = this.queue.get(id);
    const payload = record?.payload;
    const request = payload?.kind === 'sign' ? decodeSigningRequest(payload.request) : null;
    if (!record || record.status !== 'awaiting-user' || payload?.kind !== 'sign' || request?.kind !== 'transaction') throw new WalletActionError('not_found', 'No transaction is waiting for approval here.', 'id');
    // The facts are taken again: a new gas limit can make the simulation fail (out of gas).
    const { facts, ...edited } = editTransaction(request, edits);
    // A nonce the user typed is theirs: Duet no longer renumbers it.
    const advice = payload.advice && edited.tx.nonce !== request.tx.nonce ? { ...payload.advice, duetNonce: false } : payload.advice;
    const reviewed = await this.withFacts({ ...payload, request: encodeSigningRequest(edited), ...(advice ? { advice } : {}) }, facts?.replaces ?? null);
    await this.queue.update(id, { payload: reviewed });
  }

  /** "Reject all" for one site: every request of it awaiting the user gets 4001, and the site is blocked for a minute. */
  async rejectSite(origin: string): Promise<void> {
    const waiting = this.queue.awaitingUser().filter((record) => record.origin === origin);
    if (waiting.length === 0) throw new WalletActionError('not_found', 'No request from this site is waiting.', 'origin');
    await this.throttle.block(origin);
    for (const record of waiting) await this.finishRecord(record, { error: rpcErrors.userRejected('The user rejected all requests from this site in Duet.').toJSON() }, 'Rejected.', 'rejected');
  }

  /** The user closed the approval window: everything still open there is rejected (4001). */
  async approvalWindowClosed(): Promise<void> {
    const rejectedSites = new Set<string>();
    for (const record of this.queue.open()) {
      if (record.status === 'awaiting-user') {
        rejectedSites.add(record.origin);
        await this.finishRecord(record, { error: rpcErrors.userRejected('The user closed the approval window.').toJSON() }, 'Closed.', 'rejected');
      } else this.inFlight.get(record.id)?.controller.abort(new SigningStopped('window-closed'));
    }
    for (const waiter of this.unlockWaiters.splice(0)) {
      rejectedSites.add(waiter.origin);
      waiter.reject(rpcErrors.userRejected('The user closed the approval window without unlocking Duet.'));
    }
    for (const origin of rejectedSites) await this.throttle.rejected(origin);
  }

  private runCoSigning(record: ApprovalRecord): void {
    const payload = record.payload;
    const link = this.link;
    if (payload.kind !== 'sign' || !link || this.inFlight.has(record.id)) return;
    const controller = new AbortController();
    const deadline = record.deadline ?? this.now() + PHONE_WAIT_MS;
    const flight: InFlight = { controller, cancelTimer: this.ports.clock.after(Math.max(0, deadline - this.now()), () => controller.abort(new SigningStopped('timeout'))) };
    this.inFlight.set(record.id, flight);
    void (async () => {
      let outcome: ApprovalOutcome;
      let message: string;
      let status: ActivityStatus | null = null;
      let recorded = false;
      try {
        const request = decodeSigningRequest(payload.request);
        const via = payload.via ?? (await this.state.read()).defaultCoSigner;
        const signature = await link.coSigner.sign(request, controller.signal, via);
        verifyCoSignature(request, signature);
        if (signature.by) link.members?.shareHistory({ id: request.id, title: reviewedDisplay(displayModel(request), request).title, detail: request.origin, with: signature.by });
        if (request.kind === 'transaction') {
          const { raw, hash } = signedTransactionHex(request, signature);
          await this.recordSigned(request, raw, hash);
          recorded = true;
          outcome = { result: await this.broadcast(record.id, request, raw, hash) };
          message = 'Signed by both devices and sent.';
        } else {
          outcome = { result: signatureHex(signature) };
          message = 'Signed by both devices.';
          status = 'signed-message';
        }
      } catch (error) {
        if (controller.signal.reason instanceof SigningStopped && controller.signal.reason.reason === 'switched') {
          // The user asked another device: the same request goes on with it.
          flight.cancelTimer();
          this.inFlight.delete(record.id);
          const updated = this.queue.get(record.id);
          if (updated) this.runCoSigning(updated);
          return;
        }
        const rpcError = coSigningError(controller.signal.aborted ? controller.signal.reason : error);
        outcome = { error: rpcError.toJSON() };
        message = rpcError.message;
        if (!recorded) status = error instanceof CoSignerRejectedError ? 'refused' : 'error';
        if (error instanceof CoSignerFailedError && error.code === 'tainted') await this.recordTaint();
      } finally {
        flight.cancelTimer();
        this.inFlight.delete(record.id);
      }
      await this.finishRecord(record, outcome, message, status);
    })();
  }

  // ---- activity -----------------------------------------------------------------------------------

  /**
   * Ends a request. A signing request enters the activity record first (`status` null: it already
   * has), and the account's transactions still waiting move up into a nonce it leaves unused; then
   * the page is answered.
   */
  private async finishRecord(record: ApprovalRecord, outcome: ApprovalOutcome, message: string, status: ActivityStatus | null): Promise<void> {
    if (record.payload.kind === 'sign' && status !== null && this.activity) {
      const request = decodeSigningRequest(record.payload.request);
      await this.activity.add(await this.activityEntry(request, status, message, null)).catch(() => undefined);
      if (request.kind === 'transaction') await this.renumberWaiting(request.account.address, request.chainId, record.id).catch(() => undefined);
    }
    await this.queue.finish(record.id, outcome, message);
  }

  private async activityEntry(request: SigningRequest, status: ActivityStatus, detail: string | null, signed: { raw: string; hash: string } | null): Promise<ActivityEntry> {
    const now = this.now();
    const title = reviewedDisplay(displayModel(request), request).title;
    const base = { id: request.id, chainId: request.chainId, account: getAddress(request.account.address), origin: request.origin, title, status, detail, createdAt: request.createdAt, updatedAt: now };
    if (request.kind !== 'transaction') return { ...base, kind: 'message', tx: null };
    const { tx } = request;
    const replaced = request.facts?.replaces ? (await this.activity?.all())?.find((entry) => entry.tx?.hash === request.facts?.replaces?.hash) : undefined;
    return {
      ...base,
      kind: 'transaction',
      tx: {
        hash: signed?.hash ?? null,
        raw: signed?.raw ?? null,
        to: tx.to,
        counterparty: counterparty(request),
        value: tx.value.toString(),
        amount: movedAmount(request),
        data: tx.data,
        nonce: tx.nonce,
        gas: tx.gas.toString(),
        maxFeePerGas: maxFeePerGasOf(tx).toString(),
        maxPriorityFeePerGas: priorityFeePerGasOf(tx).toString(),
        blockNumber: null,
        replaces: replaced?.id ?? null,
        action: request.facts?.replaces?.action ?? null,
        stuck: null,
      },
    };
  }

  /** A co-signed transaction is recorded (durably, with its raw bytes) before the node sees it. */
  private async recordSigned(request: TransactionRequest, raw: string, hash: string): Promise<void> {
    const activity = this.activity;
    if (!activity) throw new SigningStopped('locked');
    const known = await activity.get(request.id);
    if (known?.tx?.hash === hash) return;
    await activity.add(await this.activityEntry(request, 'signed', null, { raw, hash }));
  }

  /** Hands the signed transaction to the node; a refusal is recorded (unless the node knows it already). */
  private async broadcast(recordId: string, request: TransactionRequest, raw: string, hash: string): Promise<string> {
    let sent: unknown;
    try {
      sent = await this.rpc(request.chainId, 'eth_sendRawTransaction', [raw]);
    } catch (error) {
      const known = await this.rpc(request.chainId, 'eth_getTransactionByHash', [hash]).catch(() => null);
      if (known === null && error instanceof ProviderRpcError && error.code !== RpcErrorCode.chainDisconnected) {
        await this.activity?.update(request.id, { status: 'dropped', detail: `The network refused it: ${error.message}`, updatedAt: this.now(), tx: { raw: null } });
        await this.renumberWaiting(request.account.address, request.chainId, recordId).catch(() => undefined);
        throw error;
      }
      // Unreachable: it stays "signed" and the tracker sends it again.
      if (known === null) {
        void this.trackPending();
        throw error;
      }
    }
    const current = await this.activity?.get(request.id);
    if (current?.status === 'signed') await this.activity?.update(request.id, { status: 'pending', updatedAt: this.now(), tx: { raw: null } });
    void this.trackPending();
    return typeof sent === 'string' ? sent : hash;
  }

  /**
   * After a transaction left the queue unsent, the account's transactions still waiting for the
   * user whose nonce Duet chose are numbered again from the next free nonce, so none waits
   * behind a gap. The edited request is what the card shows (its code changes; clicks pause).
   */
  private async renumberWaiting(account: string, chainId: number, leaving: string | null): Promise<void> {
    const sameAccount = (record: ApprovalRecord): TransactionRequest | null => {
      if (record.payload.kind !== 'sign') return null;
      const request = decodeSigningRequest(record.payload.request);
      return request.kind === 'transaction' && request.chainId === chainId && request.account.address === getAddress(account) ? request : null;
    };
    const waiting = this.queue.awaitingUser().filter((record) => record.id !== leaving && record.payload.kind === 'sign' && record.payload.advice?.duetNonce && sameAccount(record));
    if (waiting.length === 0) return;
    const pendingCount = await this.rpc(chainId, 'eth_getTransactionCount', [getAddress(account), 'pending']);
    const coSigning = this.queue.open().filter((record) => record.status === 'co-signing' && record.id !== leaving).map(sameAccount).filter((request): request is TransactionRequest => request !== null);
    let next = Math.max(typeof pendingCount === 'string' ? Number(BigInt(pendingCount)) : 0, this.activity?.nextOpenNonceNow(account, chainId) ?? 0, ...coSigning.map((request) => request.tx.nonce + 1));
    for (const { id } of waiting) {
      const record = this.queue.get(id);
      const request = record && record.status === 'awaiting-user' ? sameAccount(record) : null;
      if (!record || !request || record.payload.kind !== 'sign') continue;
      if (request.tx.nonce !== next) await this.queue.update(id, { payload: this.renumbered(record.payload, request, next) });
      next++;
    }
  }

  /** One pass of the transaction tracker (or the one running); repeats while transactions are open and Duet unlocked. */
  trackPending(): Promise<void> {
    this.tracking ??= this.trackOnce().finally(() => {
      this.tracking = null;
    });
    return this.tracking;
  }

  private async trackOnce(): Promise<void> {
    const activity = this.activity;
    if (!activity) return;
    this.stopTracking?.();
    this.stopTracking = null;
    const open = await trackTransactions((chainId, method, params) => this.rpc(chainId, method, params), activity, this.now());
    if (this.activity !== activity) return;
    if (open > 0) {
      this.stopTracking = this.ports.clock.after(TRACK_INTERVAL_MS, () => void this.trackPending());
      await this.ports.alarms.schedule(TRACK_ALARM, TRACK_ALARM_MINUTES);
    } else await this.ports.alarms.clear(TRACK_ALARM);
  }
}
