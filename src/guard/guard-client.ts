/**
 * A device's client for the Guard's operations and events (guard-messages.ts), over the link's
 * channel: `request` sends an operation and resolves with its result (or rejects with the Guard's
 * typed error), `onEvent` sees what the Guard pushes (decisions, the delayed queue, the policy,
 * the TOTP setup, reshare refusals, taints). Feed it every message of the link (`handle`); it
 * takes the Guard's and leaves the rest (signing rounds, reshare messages) to their drivers.
 */
import type { DecisionReason } from './decision-reasons.ts';
import type { GuardErrorCode, GuardEvent, GuardOp } from './guard-messages.ts';

export class GuardRequestError extends Error {
  constructor(
    readonly code: GuardErrorCode | 'timeout',
    message: string,
    readonly reasons: readonly DecisionReason[] = [],
  ) {
    super(message);
    this.name = 'GuardRequestError';
  }
}

export const GUARD_REQUEST_TIMEOUT_MS = 30_000;

interface Waiting {
  resolve(result: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class GuardClient {
  private readonly waiting = new Map<string, Waiting>();
  private readonly handlers = new Set<(event: GuardEvent) => void>();
  private next = 0;

  constructor(
    private readonly send: (message: unknown) => void,
    private readonly timeoutMs = GUARD_REQUEST_TIMEOUT_MS,
  ) {}

  request<T = Record<string, unknown>>(op: GuardOp, fields: Record<string, unknown> = {}): Promise<T> {
    const rid = `${Date.now().toString(36)}-${(this.next++).toString(36)}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(rid);
        reject(new GuardRequestError('timeout', `the Guard did not answer ${op} in time`));
      }, this.timeoutMs);
      this.waiting.set(rid, { resolve: (result) => resolve(result as T), reject, timer });
      try {
        this.send({ t: 'guard', rid, op, ...fields });
      } catch (error) {
        clearTimeout(timer);
        this.waiting.delete(rid);
        reject(error instanceof Error ? error : new Error('not sent'));
      }
    });
  }

  onEvent(handler: (event: GuardEvent) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Takes a Guard reply or event; returns whether the message was one. */
  handle(message: unknown): boolean {
    const value = (message as Record<string, unknown> | null) ?? {};
    if (value.t === 'guard-event' && typeof value.event === 'object' && value.event !== null) {
      for (const handler of [...this.handlers]) handler(value.event as GuardEvent);
      return true;
    }
    if (value.t !== 'guard-reply' || typeof value.rid !== 'string') return false;
    const waiting = this.waiting.get(value.rid);
    if (!waiting) return true;
    this.waiting.delete(value.rid);
    clearTimeout(waiting.timer);
    if (value.ok === true) waiting.resolve(value.result);
    else {
      const error = (value.error as { code?: GuardErrorCode; message?: string; reasons?: DecisionReason[] } | undefined) ?? {};
      waiting.reject(new GuardRequestError(error.code ?? 'bad_message', error.message ?? 'the Guard refused', error.reasons ?? []));
    }
    return true;
  }

  close(): void {
    for (const [rid, waiting] of this.waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new GuardRequestError('timeout', 'the link to the Guard closed'));
      this.waiting.delete(rid);
    }
  }
}
