/**
 * The EIP-1193 provider injected into web pages (MAIN world).
 *
 * It holds no secrets and makes no decisions: every request goes to the service worker through
 * the content-script bridge, which learns the requesting origin from the browser. The provider
 * only tracks the public state that EIP-1193 events announce (chain id, accounts, connection).
 */
import { ProviderEventEmitter } from './event-emitter.ts';
import {
  PAGE_TO_BRIDGE,
  type BridgeToPageMessage,
  type ProviderEventName,
  type RpcRequestMessage,
} from './page-messages.ts';
import { ProviderRpcError, RpcErrorCode } from './rpc-error.ts';

export interface RequestArguments {
  readonly method: string;
  readonly params?: readonly unknown[] | object;
}

/** How the provider reaches the bridge: window.postMessage in a page, a pipe in tests. */
export interface PageTransport {
  post(message: RpcRequestMessage): void;
  subscribe(handler: (message: BridgeToPageMessage) => void): void;
}

interface PendingRequest {
  resolve(value: unknown): void;
  reject(error: ProviderRpcError): void;
}

export class DuetProvider extends ProviderEventEmitter {
  readonly isDuet = true;
  private readonly transport: PageTransport;
  private readonly pending = new Map<number, PendingRequest>();
  private nextId = 1;
  private currentChainId: string | null = null;
  private accounts: string[] = [];
  private connected = false;

  constructor(transport: PageTransport) {
    super();
    this.transport = transport;
    transport.subscribe((message) => this.receive(message));
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

  private receive(message: BridgeToPageMessage): void {
    if (message.kind === 'event') {
      this.applyEvent(message.event, message.payload);
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
      case 'message':
        this.emit('message', payload);
        return;
    }
  }
}
