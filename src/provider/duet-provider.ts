/**
 * The EIP-1193 provider injected into web pages (MAIN world).
 *
 * It holds no secrets and makes no decisions: every request goes to the service worker through
 * the content-script bridge, which learns the requesting origin from the browser. The provider
 * only tracks the public state that EIP-1193 events announce (chain id, accounts, connection,
 * and the lock state MetaMask's _metamask.isUnlocked() reports).
 *
 * MetaMask compatibility, for dApps written against it:
 * - isMetaMask is true unless the user turned that off in the popup (the bridge passes the
 *   setting); isDuet is always true. EIP-6963 stays the primary way to find Duet.
 * - The legacy API of MetaMask's inpage provider (@metamask/providers): enable(),
 *   send(method, params) resolving with the whole JSON-RPC response, send(payload, callback) and
 *   sendAsync(payload, callback) with batches, send(payload) for the few methods MetaMask answers
 *   synchronously, isConnected(), _metamask.isUnlocked(), selectedAddress, chainId,
 *   networkVersion.
 */
import { ProviderEventEmitter } from './event-emitter.ts';
import {
  PAGE_TO_BRIDGE,
  type BridgeToPageMessage,
  type PageConfig,
  type ProviderEventName,
  type RpcRequestMessage,
} from './page-messages.ts';
import { ProviderRpcError, RpcErrorCode, type SerializedRpcError } from './rpc-error.ts';

export interface RequestArguments {
  readonly method: string;
  readonly params?: readonly unknown[] | object;
}

/** A JSON-RPC 2.0 request as legacy callers pass it to send / sendAsync. */
export interface JsonRpcPayload {
  readonly id?: string | number | null;
  readonly jsonrpc?: string;
  readonly method: string;
  readonly params?: readonly unknown[] | object;
}

export type JsonRpcResponse = { id: JsonRpcPayload['id']; jsonrpc: '2.0' } & ({ result: unknown } | { error: SerializedRpcError });
export type JsonRpcCallback = (error: ProviderRpcError | null, response: JsonRpcResponse | JsonRpcResponse[]) => void;

/** How the provider reaches the bridge: window.postMessage in a page, a pipe in tests. */
export interface PageTransport {
  post(message: RpcRequestMessage): void;
  subscribe(handler: (message: BridgeToPageMessage) => void): void;
}

export interface ProviderOptions {
  /** Called when the bridge passes the popup's settings (the in-page script applies window.ethereum's). */
  readonly onConfig?: (config: PageConfig) => void;
}

interface PendingRequest {
  resolve(value: unknown): void;
  reject(error: ProviderRpcError): void;
}

export class DuetProvider extends ProviderEventEmitter {
  readonly isDuet = true;
  /** MetaMask's inpage provider API for the lock state. */
  readonly _metamask = { isUnlocked: (): Promise<boolean> => this.unlockState() };
  private readonly transport: PageTransport;
  private readonly options: ProviderOptions;
  private readonly pending = new Map<number, PendingRequest>();
  private nextId = 1;
  private currentChainId: string | null = null;
  private accounts: string[] = [];
  private connected = false;
  private metaMaskFlag = true;
  private unlocked: boolean | null = null;
  private unlockWaiters: ((unlocked: boolean) => void)[] = [];

  constructor(transport: PageTransport, options: ProviderOptions = {}) {
    super();
    this.transport = transport;
    this.options = options;
    transport.subscribe((message) => this.receive(message));
  }

  /** True unless the user turned the MetaMask flag off in Duet's popup. */
  get isMetaMask(): boolean {
    return this.metaMaskFlag;
  }

  /** EIP-1193: true when the provider can serve RPC requests to the current chain. */
  isConnected(): boolean {
    return this.connected;
  }

  get selectedAddress(): string | null {
    return this.accounts[0] ?? null;
  }

  /** The chain id from the last connect/chainChanged event (0x-hex), as many dApps read it. */
  get chainId(): string | null {
    return this.currentChainId;
  }

  /** The chain id in decimal (MetaMask's deprecated net_version property). */
  get networkVersion(): string | null {
    return this.currentChainId === null ? null : String(Number.parseInt(this.currentChainId, 16));
  }

  request(args: RequestArguments): Promise<unknown> {
    if (typeof args !== 'object' || args === null || typeof args.method !== 'string' || args.method.length === 0) {
      return Promise.reject(new ProviderRpcError(RpcErrorCode.invalidParams, 'Expected a single object with a non-empty "method" string.'));
    }
    if (args.params !== undefined && (typeof args.params !== 'object' || args.params === null)) {
      return Promise.reject(new ProviderRpcError(RpcErrorCode.invalidParams, '"params" must be an array or an object.'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.transport.post({ target: PAGE_TO_BRIDGE, id, method: args.method, params: args.params });
    });
  }

  /** Legacy (EIP-1102): eth_requestAccounts. */
  enable(): Promise<unknown> {
    return this.request({ method: 'eth_requestAccounts' });
  }

  /**
   * Legacy, three forms as in MetaMask: send(method, params?) → Promise of the JSON-RPC response;
   * send(payload, callback) = sendAsync; send(payload) → the answer of eth_accounts, eth_coinbase
   * or net_version from the provider's state (anything else throws, as MetaMask does).
   */
  send(method: string, params?: readonly unknown[]): Promise<JsonRpcResponse>;
  send(payload: JsonRpcPayload | JsonRpcPayload[], callback: JsonRpcCallback): void;
  send(payload: JsonRpcPayload): JsonRpcResponse;
  send(methodOrPayload: string | JsonRpcPayload | JsonRpcPayload[], paramsOrCallback?: readonly unknown[] | JsonRpcCallback): Promise<JsonRpcResponse> | JsonRpcResponse | void {
    if (typeof methodOrPayload === 'string' && (paramsOrCallback === undefined || Array.isArray(paramsOrCallback))) {
      return this.request({ method: methodOrPayload, ...(paramsOrCallback ? { params: paramsOrCallback as readonly unknown[] } : {}) }).then((result) => ({ id: undefined, jsonrpc: '2.0' as const, result }));
    }
    if (typeof methodOrPayload === 'object' && methodOrPayload !== null && typeof paramsOrCallback === 'function') {
      this.sendAsync(methodOrPayload, paramsOrCallback);
      return;
    }
    return this.sendSync(methodOrPayload as JsonRpcPayload);
  }

  /** Legacy: callback(error, response), or callback(null, responses) for a batch (an array payload). */
  sendAsync(payload: JsonRpcPayload | JsonRpcPayload[], callback: JsonRpcCallback): void {
    if (Array.isArray(payload)) {
      void Promise.all(payload.map((entry) => this.respond(entry))).then((responses) => callback(null, responses.map((response) => response.response)));
      return;
    }
    void this.respond(payload).then(({ error, response }) => callback(error, response));
  }

  private async respond(payload: JsonRpcPayload): Promise<{ error: ProviderRpcError | null; response: JsonRpcResponse }> {
    const base = { id: payload.id, jsonrpc: '2.0' as const };
    try {
      return { error: null, response: { ...base, result: await this.request({ method: payload.method, ...(payload.params !== undefined ? { params: payload.params } : {}) }) } };
    } catch (caught) {
      const error = caught instanceof ProviderRpcError ? caught : new ProviderRpcError(RpcErrorCode.internal, 'Internal error in Duet.');
      return { error, response: { ...base, error: error.toJSON() } };
    }
  }

  private sendSync(payload: JsonRpcPayload): JsonRpcResponse {
    const base = { id: payload?.id, jsonrpc: '2.0' as const };
    switch (payload?.method) {
      case 'eth_accounts':
        return { ...base, result: this.selectedAddress ? [this.selectedAddress] : [] };
      case 'eth_coinbase':
        return { ...base, result: this.selectedAddress };
      case 'net_version':
        return { ...base, result: this.networkVersion };
      default:
        throw new Error(`Duet does not support synchronous methods like ${String(payload?.method)} without a callback parameter.`);
    }
  }

  /** The lock state once the bridge has told it (at every connection of its port). */
  private unlockState(): Promise<boolean> {
    if (this.unlocked !== null) return Promise.resolve(this.unlocked);
    return new Promise((resolve) => this.unlockWaiters.push(resolve));
  }

  private receive(message: BridgeToPageMessage): void {
    if (message.kind === 'event') {
      this.applyEvent(message.event, message.payload);
      return;
    }
    if (message.kind === 'config') {
      this.metaMaskFlag = message.config.metaMaskFlag;
      this.options.onConfig?.(message.config);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.kind === 'response') pending.resolve(message.result);
    else pending.reject(new ProviderRpcError(message.error.code, message.error.message, message.error.data));
  }

  private applyEvent(event: ProviderEventName, payload: unknown): void {
    switch (event) {
      case 'connect': {
        // Sent on every (re)connection of the bridge's port: a chain that changed meanwhile is announced.
        const { chainId } = payload as { chainId: string };
        const previous = this.currentChainId;
        this.currentChainId = chainId;
        if (!this.connected) {
          this.connected = true;
          this.emit('connect', { chainId });
        } else if (previous !== chainId) {
          this.emit('chainChanged', chainId);
        }
        return;
      }
      case 'disconnect':
        this.connected = false;
        this.emit('disconnect', payload);
        return;
      case 'chainChanged':
        if (payload !== this.currentChainId) {
          this.currentChainId = payload as string;
          this.emit('chainChanged', payload);
        }
        return;
      case 'accountsChanged': {
        const accounts = payload as string[];
        if (accounts.join() !== this.accounts.join()) {
          this.accounts = accounts;
          this.emit('accountsChanged', accounts);
        }
        return;
      }
      case 'unlockStateChanged':
        this.unlocked = payload === true;
        for (const resolve of this.unlockWaiters.splice(0)) resolve(this.unlocked);
        return;
      case 'message':
        this.emit('message', payload);
        return;
    }
  }
}
