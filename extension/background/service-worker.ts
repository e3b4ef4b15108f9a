/**
 * Service worker entry: wires browser APIs (storage, windows, alarms, ports) to the wallet
 * service in src/background. No logic of its own beyond that wiring.
 */
import browser from 'webextension-polyfill';
import { PROVIDER_PORT_NAME, parsePortRequest } from '../../src/background/port-messages.ts';
import { originFromSender } from '../../src/background/router.ts';
import type { KeyValueStore } from '../../src/background/settings.ts';
import { UI_MESSAGE, type UiEnvelope, type UiResponse } from '../../src/background/ui-messages.ts';
import { WalletService } from '../../src/background/wallet-service.ts';
import { ProviderRpcError, RpcErrorCode } from '../../src/provider/rpc-error.ts';

const AUTO_LOCK_ALARM = 'duet-auto-lock';
const APPROVAL_PAGE = 'extension/approval/index.html';

function storeOf(area: browser.Storage.StorageArea): KeyValueStore {
  return {
    get: async <T>(key: string) => (await area.get(key))[key] as T | undefined,
    set: (key, value) => area.set({ [key]: value }),
    remove: (key) => area.remove(key),
  };
}

const pagePorts = new Map<browser.Runtime.Port, string>();
let approvalWindowId: number | null = null;

async function openApprovalWindow(): Promise<void> {
  if (approvalWindowId !== null) {
    try {
      await browser.windows.update(approvalWindowId, { focused: true });
      return;
    } catch {
      approvalWindowId = null;
    }
  }
  const created = await browser.windows.create({ url: browser.runtime.getURL(APPROVAL_PAGE), type: 'popup', width: 420, height: 640 });
  approvalWindowId = created.id ?? null;
}

const service = new WalletService({
  local: storeOf(browser.storage.local),
  session: storeOf(browser.storage.session),
  openApprovalWindow,
  notifyOrigin: (origin, event, payload) => {
    for (const [port, portOrigin] of pagePorts) if (origin === null || origin === portOrigin) port.postMessage({ kind: 'event', event, payload });
  },
  fetch: (input, init) => fetch(input, init),
  now: () => Date.now(),
});
const ready = service.restore();

browser.windows.onRemoved.addListener((windowId) => {
  if (windowId !== approvalWindowId) return;
  approvalWindowId = null;
  service.approvals.rejectAllPending();
});

async function resetAutoLock(): Promise<void> {
  const { state } = await service.view();
  if (state.autoLockMinutes > 0) await browser.alarms.create(AUTO_LOCK_ALARM, { delayInMinutes: state.autoLockMinutes });
}

browser.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === AUTO_LOCK_ALARM) void service.lock();
});

browser.runtime.onConnect.addListener((port) => {
  if (port.name !== PROVIDER_PORT_NAME || !port.sender) return;
  let origin: string;
  try {
    origin = originFromSender(port.sender as { origin?: string; url?: string });
  } catch {
    port.disconnect();
    return;
  }
  pagePorts.set(port, origin);
  port.onDisconnect.addListener(() => pagePorts.delete(port));
  void ready.then(async () => {
    const { state } = await service.view();
    port.postMessage({ kind: 'event', event: 'connect', payload: { chainId: `0x${state.activeChainId.toString(16)}` } });
  });
  port.onMessage.addListener(async (raw: unknown) => {
    const request = parsePortRequest(raw);
    if (!request) return;
    await ready;
    try {
      const result = await service.handle(request.method, request.params, origin);
      port.postMessage({ kind: 'response', id: request.id, result });
    } catch (error) {
      const rpcError = error instanceof ProviderRpcError ? error : new ProviderRpcError(RpcErrorCode.internal, 'Internal error.');
      port.postMessage({ kind: 'error', id: request.id, error: rpcError.toJSON() });
    }
  });
});

async function handleUi(envelope: UiEnvelope): Promise<unknown> {
  const request = envelope.request;
  switch (request.action) {
    case 'view':
      break;
    case 'create':
      await service.createWallet(request.password, request);
      break;
    case 'unlock':
      await service.unlock(request.password);
      break;
    case 'lock':
      await service.lock();
      break;
    case 'start-pairing':
      await service.startPairing();
      break;
    case 'confirm-sas':
      service.confirmSas(request.matches);
      break;
    case 'decide':
      service.decideApproval(request.id, request.approved);
      break;
    case 'add-account':
      await service.addAccount(request.name);
      break;
    case 'select-account':
      await service.selectAccount(request.index);
      break;
    case 'switch-chain':
      await service.switchChain(request.chainId);
      break;
    case 'revoke':
      await service.handle('wallet_revokePermissions', [{ eth_accounts: {} }], request.origin);
      break;
  }
  await resetAutoLock();
  return service.view();
}

browser.runtime.onMessage.addListener((message: unknown, sender: browser.Runtime.MessageSender): Promise<UiResponse> | undefined => {
  const envelope = message as UiEnvelope;
  if (envelope?.type !== UI_MESSAGE || !sender.url?.startsWith(browser.runtime.getURL(''))) return undefined;
  return ready
    .then(() => handleUi(envelope))
    .then((view): UiResponse => ({ ok: true, view }))
    .catch((error: unknown): UiResponse => ({ ok: false, error: error instanceof Error ? error.message : 'Something went wrong.' }));
});
