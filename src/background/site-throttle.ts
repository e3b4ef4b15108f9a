/**
 * Per-site throttling after repeated rejections, as MetaMask's origin throttling
 * (metamask-extension, app/scripts/lib/createOriginThrottlingMiddleware.ts): three rejections by
 * the user, each within 30 s of the previous one, block the site's approval requests until 60 s
 * after the last one; an approval resets the count. "Reject all" from a site blocks it at once.
 * A blocked site gets 4100 without any window opening. The state is kept in
 * chrome.storage.session, so a restarted service worker keeps blocking. What the user starts in
 * Duet's own popup (WALLET_ORIGIN) is never counted nor blocked: only sites are throttled.
 */
import { rpcErrors } from '../provider/rpc-error.ts';
import { WALLET_ORIGIN } from '../wallet/signing-request.ts';
import type { KeyValueStore } from './storage.ts';

export const REJECTIONS_BEFORE_BLOCK = 3;
export const REJECTION_WINDOW_MS = 30_000;
export const BLOCK_MS = 60_000;
const THROTTLE_KEY = 'duet/site-throttle';

interface SiteRejections {
  readonly rejections: number;
  readonly lastRejection: number;
}

export class SiteThrottle {
  private readonly store: KeyValueStore;
  private readonly now: () => number;
  private sites = new Map<string, SiteRejections>();

  constructor(store: KeyValueStore, now: () => number) {
    this.store = store;
    this.now = now;
  }

  async load(): Promise<void> {
    this.sites = new Map(Object.entries((await this.store.get<Record<string, SiteRejections>>(THROTTLE_KEY)) ?? {}));
  }

  isBlocked(origin: string): boolean {
    const site = this.sites.get(origin);
    return site !== undefined && site.rejections >= REJECTIONS_BEFORE_BLOCK && this.now() - site.lastRejection <= BLOCK_MS;
  }

  /** Throws 4100 while the site is blocked. */
  check(origin: string): void {
    if (this.isBlocked(origin)) throw rpcErrors.unauthorized('Duet is blocking requests from this site for a minute: you rejected several of them in a row.');
  }

  rejected(origin: string): Promise<void> {
    const now = this.now();
    const site = this.sites.get(origin);
    const rejections = site && now - site.lastRejection < REJECTION_WINDOW_MS ? site.rejections + 1 : 1;
    return origin === WALLET_ORIGIN ? Promise.resolve() : this.save(origin, { rejections, lastRejection: now });
  }

  block(origin: string): Promise<void> {
    return origin === WALLET_ORIGIN ? Promise.resolve() : this.save(origin, { rejections: REJECTIONS_BEFORE_BLOCK, lastRejection: this.now() });
  }

  approved(origin: string): Promise<void> {
    return this.sites.has(origin) ? this.save(origin, null) : Promise.resolve();
  }

  /** Memory first; a failed write only means a restarted worker forgets the count. */
  private async save(origin: string, site: SiteRejections | null): Promise<void> {
    if (site) this.sites.set(origin, site);
    else this.sites.delete(origin);
    const now = this.now();
    for (const [key, entry] of this.sites) if (now - entry.lastRejection > BLOCK_MS) this.sites.delete(key);
    await this.store.set(THROTTLE_KEY, Object.fromEntries(this.sites)).catch(() => undefined);
  }
}
