/**
 * The single approval window: created on the first request and reused afterwards. An open window
 * is focused only when asked (a request arriving while none was waiting), never for each request
 * of a burst. Its id is kept in session storage so a restarted service worker still recognises it.
 */
import type { KeyValueStore } from './storage.ts';
import type { ApprovalWindowPort } from './wallet-service.ts';

export interface WindowsPort {
  /** Opens a popup window with the page; resolves with its id. */
  create(pageUrl: string): Promise<number | null>;
  /** Focuses a window; resolves false when it no longer exists. */
  focus(windowId: number): Promise<boolean>;
  /** Whether a window still exists (without focusing it). */
  exists(windowId: number): Promise<boolean>;
}

const WINDOW_KEY = 'duet/approval-window';

export class ApprovalWindow implements ApprovalWindowPort {
  private readonly windows: WindowsPort;
  private readonly session: KeyValueStore;
  private readonly pageUrl: string;
  private opening: Promise<void> | null = null;

  constructor(windows: WindowsPort, session: KeyValueStore, pageUrl: string) {
    this.windows = windows;
    this.session = session;
    this.pageUrl = pageUrl;
  }

  open(options: { readonly focus: boolean }): Promise<void> {
    this.opening ??= this.openOrFocus(options.focus).finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  /** True when `windowId` is the approval window (it has just been closed, so forget it). */
  async closed(windowId: number): Promise<boolean> {
    if ((await this.session.get<number>(WINDOW_KEY)) !== windowId) return false;
    await this.session.remove(WINDOW_KEY);
    return true;
  }

  private async openOrFocus(focus: boolean): Promise<void> {
    const existing = await this.session.get<number>(WINDOW_KEY);
    if (existing !== undefined && (focus ? await this.windows.focus(existing) : await this.windows.exists(existing))) return;
    const created = await this.windows.create(this.pageUrl);
    if (created === null) await this.session.remove(WINDOW_KEY);
    else await this.session.set(WINDOW_KEY, created);
  }
}
