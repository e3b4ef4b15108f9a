/**
 * The queue of requests waiting for the user in the approval window. One window shows them one
 * at a time; a second identical request from the same origin is refused with -32002 while the
 * first is pending, as MetaMask does.
 */
import { ProviderRpcError, RpcErrorCode } from '../provider/rpc-error.ts';
import type { DisplayModel } from '../wallet/decode.ts';

export type ApprovalStatus = 'pending' | 'waiting-for-phone' | 'done' | 'failed';

export interface ApprovalView {
  readonly id: string;
  readonly origin: string;
  readonly kind: 'connect' | 'sign';
  readonly display: DisplayModel;
  readonly code: string | null;
  status: ApprovalStatus;
  message: string | null;
}

interface Entry {
  readonly view: ApprovalView;
  readonly fingerprint: string;
  resolve(approved: boolean): void;
}

export class ApprovalQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<() => void>();

  /** Resolves true on approve, false on reject or when the window is closed. */
  request(view: ApprovalView, fingerprint: string): Promise<boolean> {
    for (const entry of this.entries.values()) {
      if (entry.fingerprint === fingerprint && entry.view.status === 'pending') {
        return Promise.reject(new ProviderRpcError(RpcErrorCode.resourceUnavailable, 'A request like this is already waiting for approval in Duet.'));
      }
    }
    return new Promise((resolve) => {
      this.entries.set(view.id, { view, fingerprint, resolve });
      this.changed();
    });
  }

  decide(id: string, approved: boolean): void {
    const entry = this.entries.get(id);
    if (!entry || entry.view.status !== 'pending') return;
    if (approved && entry.view.kind === 'sign') {
      entry.view.status = 'waiting-for-phone';
    } else {
      this.entries.delete(id);
    }
    entry.resolve(approved);
    this.changed();
  }

  update(id: string, status: ApprovalStatus, message: string | null): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.view.status = status;
    entry.view.message = message;
    this.changed();
  }

  dismiss(id: string): void {
    this.entries.delete(id);
    this.changed();
  }

  /** The user closed the window: every pending request is rejected. */
  rejectAllPending(): void {
    for (const [id, entry] of this.entries) {
      if (entry.view.status === 'pending') {
        this.entries.delete(id);
        entry.resolve(false);
      }
    }
    this.changed();
  }

  list(): ApprovalView[] {
    return [...this.entries.values()].map((entry) => entry.view);
  }

  get hasPending(): boolean {
    return this.list().some((view) => view.status === 'pending');
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
