/**
 * A WalletService wired to in-memory ports, as the service worker wires it to the browser's:
 * storage areas, a node (scripted or anvil), an approval-window counter, recorded page events,
 * recorded alarms, a test clock, and the test phone link with its co-signer stand-in.
 * `restart()` builds a fresh service over the same storage and vault, like a restarted worker.
 */
import type { SettingsBody } from '../../src/session/settings-record.ts';
import 'fake-indexeddb/auto';
import { expect } from 'vitest';
import type { QueueLimits } from '../../src/background/approval-queue.ts';
import type { ApprovalCard } from '../../src/background/approval-view.ts';
import type { AlarmPort } from '../../src/background/auto-lock.ts';
import type { FetchLike } from '../../src/background/rpc-client.ts';
import { WalletService, type WalletView } from '../../src/background/wallet-service.ts';
import type { ProviderEventName } from '../../src/provider/page-messages.ts';
import { LocalTestCoSigner } from './local-test-co-signer.ts';
import { chainNode, type ScriptedNode } from './scripted-node.ts';
import { MemoryStore } from './memory-store.ts';
import { TestClock } from './test-clock.ts';
import { testPhoneLinks } from './test-phone-link.ts';

export const PASSWORD = 'correct horse battery';
export const DAPP = 'https://dapp.example';
export const OTHER_DAPP = 'https://other.example';

export interface PageEvent {
  readonly to: string;
  readonly event: ProviderEventName;
  readonly payload: unknown;
  /** For an event to every page: the origins left out (sites on a network of their own). */
  readonly except?: readonly string[];
}

export interface Harness {
  readonly wallet: WalletService;
  readonly local: MemoryStore;
  readonly session: MemoryStore;
  readonly clock: TestClock;
  readonly phone: LocalTestCoSigner;
  readonly events: PageEvent[];
  readonly alarms: Map<string, number>;
  /** Calls to open the approval window, and how many of them asked to focus it. */
  readonly windowOpens: { count: number; focused: number };
  readonly vaultName: string;
  /** Every settings record the wallet sent to its members (accounts, names, networks). */
  readonly settingsShared: SettingsBody[];
  /** A provider request as a page would send it (each call gets a fresh request key unless given). */
  request(method: string, params?: unknown, origin?: string, requestKey?: string, tabId?: number | null): Promise<unknown>;
  /** A request from a frame of `origin` embedded in the page of `embeddedIn`. */
  requestEmbedded(method: string, params: unknown, origin: string, embeddedIn: string): Promise<unknown>;
  view(): Promise<WalletView>;
  /** A new service over the same storage and vault (a restarted service worker). */
  restart(): Promise<Harness>;
  /** The same, after the browser was closed: session storage is empty. */
  reopenBrowser(): Promise<Harness>;
}

let keyCounter = 0;

interface Shared {
  local: MemoryStore;
  session: MemoryStore;
  clock: TestClock;
  phone: LocalTestCoSigner;
  fetch: FetchLike;
  vaultName: string;
  /** Every settings record the wallet sent to its members. */
  settingsShared: SettingsBody[];
  queueLimits?: QueueLimits;
}

async function build(shared: Shared): Promise<Harness> {
  const events: PageEvent[] = [];
  const alarms = new Map<string, number>();
  const windowOpens = { count: 0, focused: 0 };
  const alarmPort: AlarmPort = {
    schedule: async (name, minutes) => void alarms.set(name, minutes),
    clear: async (name) => void alarms.delete(name),
  };
  const wallet = new WalletService({
    local: shared.local,
    session: shared.session,
    fetch: shared.fetch,
    approvalWindow: {
      open: async ({ focus }) => {
        windowOpens.count++;
        if (focus) windowOpens.focused++;
      },
    },
    pageEvents: {
      toOrigin: (origin, event, payload) => events.push({ to: origin, event, payload }),
      toAll: (event, payload, except) => events.push({ to: '*', event, payload, ...(except?.size ? { except: [...except].sort() } : {}) }),
    },
    alarms: alarmPort,
    clock: shared.clock,
    phoneLinks: testPhoneLinks(shared.phone, [], shared.settingsShared),
    vaultName: shared.vaultName,
    ...(shared.queueLimits ? { queueLimits: shared.queueLimits } : {}),
  });
  await wallet.start();
  const harness: Harness = {
    wallet,
    ...shared,
    events,
    alarms,
    windowOpens,
    request: (method, params, origin = DAPP, requestKey = `page:${++keyCounter}`, tabId = null) => wallet.request(method, params, { origin, requestKey, tabId, embeddedIn: null }),
    requestEmbedded: (method, params, origin, embeddedIn) => wallet.request(method, params, { origin, requestKey: `page:${++keyCounter}`, tabId: null, embeddedIn }),
    view: () => wallet.view(),
    restart: () => build(shared),
    reopenBrowser: () => build({ ...shared, session: new MemoryStore() }),
  };
  return harness;
}

export interface HarnessOptions {
  readonly phone?: LocalTestCoSigner;
  readonly queueLimits?: QueueLimits;
  /** chrome.storage.session's quota (10 MiB in Chrome); unlimited by default. */
  readonly sessionQuotaBytes?: number;
}

export function createHarness(fetch: FetchLike, options: HarnessOptions = {}): Promise<Harness> {
  const vaultName = `duet-test-${crypto.randomUUID()}`;
  const session = new MemoryStore(options.sessionQuotaBytes);
  const phone = options.phone ?? new LocalTestCoSigner();
  return build({ local: new MemoryStore(), session, clock: new TestClock(), phone, fetch, vaultName, settingsShared: [], ...(options.queueLimits ? { queueLimits: options.queueLimits } : {}) });
}

/** Expects `promise` to fail with this EIP-1193 code (and a message matching `message`). */
export async function rejects(promise: Promise<unknown>, code: number, message?: RegExp): Promise<void> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(error).toMatchObject({ code });
  if (message) expect((error as Error).message).toMatch(message);
}

/** Resolves when `check` holds, letting promises and I/O run in between. */
export async function until(check: () => boolean | Promise<boolean>, what = 'condition', atLeastMs = 0): Promise<void> {
  const deadline = Date.now() + atLeastMs;
  for (let attempt = 0; attempt < 500 || Date.now() < deadline; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Creates the vault (with the local network's RPC URL) and pairs the test phone. */
export async function setUpWallet(harness: Harness, rpcUrl?: string): Promise<string> {
  await harness.wallet.create(PASSWORD, rpcUrl ? { rpcUrl } : {});
  await harness.wallet.startPairing();
  harness.wallet.confirmSas(true);
  await until(async () => (await harness.view()).paired, 'pairing');
  const address = (await harness.view()).state.accounts[0]?.address;
  if (!address) throw new Error('no account after pairing');
  return address;
}

export interface ScriptedWallet {
  readonly node: ScriptedNode;
  readonly h: Harness;
  readonly address: string;
}

/** A paired wallet on a scripted local node (chain 31337), connected to `origins`. */
export async function scriptedWallet(options: HarnessOptions = {}, origins: readonly string[] = [DAPP]): Promise<ScriptedWallet> {
  const node = chainNode(31337);
  const h = await createHarness(node.fetch, options);
  const address = await setUpWallet(h, 'http://127.0.0.1:8545');
  for (const origin of origins) await connect(h, origin);
  return { node, h, address };
}

/** The id of the open approval once it appears. */
export async function nextApproval(harness: Harness, kind?: string, atLeastMs = 0): Promise<string> {
  let id: string | undefined;
  await until(async () => {
    id = (await harness.view()).approvals.find((card) => card.status === 'awaiting-user' && (kind === undefined || card.kind === kind))?.id;
    return id !== undefined;
  }, `an approval${kind ? ` (${kind})` : ''}`, atLeastMs);
  return id as string;
}

/** The card the approval window shows, which must be the request `id`. */
export async function shownCard(harness: Harness, id: string): Promise<ApprovalCard> {
  const card = (await harness.view()).approval;
  if (card?.id !== id) throw new Error(`the window shows ${card?.id ?? 'nothing'}, not ${id}`);
  return card;
}

/** Approvals still waiting for the user or the phone (finished ones stay visible a few seconds). */
export async function openApprovals(harness: Harness): Promise<WalletView['approvals']> {
  return (await harness.view()).approvals.filter((card) => card.status === 'awaiting-user' || card.status === 'co-signing');
}

/** eth_requestAccounts approved in the window. */
export async function connect(harness: Harness, origin = DAPP): Promise<string[]> {
  const pending = harness.request('eth_requestAccounts', [], origin);
  await harness.wallet.decide(await nextApproval(harness, 'connect'), true);
  return (await pending) as string[];
}
