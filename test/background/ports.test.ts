/** The small browser-facing pieces: the approval window, page connections, the router, origins and port messages. */
import { describe, expect, it } from 'vitest';
import { ApprovalWindow, type WindowsPort } from '../../src/background/approval-window.ts';
import { PageConnections } from '../../src/background/page-connections.ts';
import { parsePortRequest } from '../../src/background/port-messages.ts';
import { RequestRouter, originFromSender } from '../../src/background/router.ts';
import { RpcErrorCode } from '../../src/provider/rpc-error.ts';
import { MemoryStore } from './memory-store.ts';

class Windows implements WindowsPort {
  readonly open = new Set<number>();
  created = 0;
  focused = 0;
  private next = 100;

  async create(): Promise<number | null> {
    this.created++;
    const id = this.next++;
    this.open.add(id);
    return id;
  }

  async focus(windowId: number): Promise<boolean> {
    if (!this.open.has(windowId)) return false;
    this.focused++;
    return true;
  }

  async exists(windowId: number): Promise<boolean> {
    return this.open.has(windowId);
  }
}

describe('ApprovalWindow', () => {
  it('creates one window, reuses it, and recognises it after a restart', async () => {
    const windows = new Windows();
    const session = new MemoryStore();
    const first = new ApprovalWindow(windows, session, 'chrome-extension://id/approval.html');
    await Promise.all([first.open({ focus: true }), first.open({ focus: true })]);
    await first.open({ focus: true });
    expect(windows.created).toBe(1);
    const restarted = new ApprovalWindow(windows, session, 'chrome-extension://id/approval.html');
    await restarted.open({ focus: true });
    expect(windows.created).toBe(1);
    expect(await restarted.closed(999)).toBe(false);
    expect(await restarted.closed(100)).toBe(true);
    windows.open.delete(100);
    await restarted.open({ focus: true });
    expect(windows.created).toBe(2);
  });

  it('focuses an open window only when asked; without focus it still reopens a closed one', async () => {
    const windows = new Windows();
    const approvalWindow = new ApprovalWindow(windows, new MemoryStore(), 'chrome-extension://id/approval.html');
    await approvalWindow.open({ focus: true });
    for (let i = 0; i < 5; i++) await approvalWindow.open({ focus: false });
    expect(windows.focused).toBe(0);
    await approvalWindow.open({ focus: true });
    expect(windows.focused).toBe(1);
    windows.open.clear();
    await approvalWindow.open({ focus: false });
    expect(windows.created).toBe(2);
  });
});

describe('PageConnections', () => {
  it('sends to the ports of one origin, or to all (but the origins left out)', () => {
    const received: string[] = [];
    const port = (name: string) => ({ postMessage: (message: unknown) => received.push(`${name}:${String(message)}`) });
    const pages = new PageConnections<ReturnType<typeof port>>();
    const a1 = port('a1');
    pages.add(a1, 'https://a.example');
    pages.add(port('a2'), 'https://a.example');
    pages.add(port('b'), 'https://b.example');
    pages.sendTo('https://a.example', 'x');
    pages.remove(a1);
    pages.sendAll('y');
    pages.sendAll('z', new Set(['https://a.example']));
    expect(received).toEqual(['a1:x', 'a2:x', 'a2:y', 'b:y', 'b:z']);
  });
});

describe('RequestRouter and origins', () => {
  it('routes by method and answers 4200 for unknown ones', async () => {
    const router = new RequestRouter().register('eth_chainId', async () => '0x1').registerFallback((method) => (method === 'eth_call' ? async () => 'proxied' : undefined));
    const context = { origin: 'https://a.example', requestKey: 'k', tabId: null, embeddedIn: null };
    expect(await router.handle('eth_chainId', [], context)).toBe('0x1');
    expect(await router.handle('eth_call', [], context)).toBe('proxied');
    await expect(router.handle('eth_nope', [], context)).rejects.toMatchObject({ code: RpcErrorCode.unsupportedMethod });
  });

  it('takes the origin from the browser sender and refuses non-web frames', () => {
    expect(originFromSender({ origin: 'https://a.example', url: 'https://evil.example/x' })).toBe('https://a.example');
    expect(originFromSender({ url: 'http://127.0.0.1:5173/page?x=1' })).toBe('http://127.0.0.1:5173');
    for (const sender of [{}, { origin: 'null' }, { origin: 'chrome-extension://abc' }, { url: 'file:///tmp/x.html' }]) {
      expect(() => originFromSender(sender)).toThrow(expect.objectContaining({ code: RpcErrorCode.unauthorized }));
    }
  });

  it('accepts only well-formed port requests', () => {
    expect(parsePortRequest({ id: 1, key: 's:1', method: 'eth_chainId', params: [] })).toEqual({ id: 1, key: 's:1', method: 'eth_chainId', params: [] });
    for (const bad of [null, 'x', { id: '1', key: 'k', method: 'm' }, { id: 1, method: 'm' }, { id: 1, key: '', method: 'm' }, { id: 1, key: 'k'.repeat(101), method: 'm' }, { id: 1, key: 'k', method: '' }, { id: 1.5, key: 'k', method: 'm' }]) {
      expect(parsePortRequest(bad)).toBeNull();
    }
  });
});
