/**
 * wallet_switchEthereumChain as MetaMask does it now (permitted chains per site: a permitted chain
 * switches without a prompt unless the site has requests waiting, another one asks and becomes
 * permitted; each connected site on a network of its own), and the page settings (MetaMask flag,
 * window.ethereum) the popup changes.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { handleUiRequest } from '../../src/background/ui-actions.ts';
import { RpcErrorCode } from '../../src/provider/rpc-error.ts';
import { SITE_SWITCH_SCOPE, WALLET_SWITCH_SCOPE } from '../../src/background/approval-view.ts';
import { DAPP, OTHER_DAPP, PASSWORD, connect, nextApproval, openApprovals, rejects, scriptedWallet, shownCard, until, type Harness } from './harness.ts';
import type { ScriptedNode } from './scripted-node.ts';

let h: Harness;
let node: ScriptedNode;
let account: string;

beforeEach(async () => {
  ({ h, node } = await scriptedWallet());
  account = ((await h.request('eth_accounts')) as string[])[0] as string;
});

const switchTo = (chainId: string, origin = DAPP) => h.request('wallet_switchEthereumChain', [{ chainId }], origin);

/** The user adds network 1337 (the scripted node answers every RPC URL: it is chain 1337 while the user adds it). */
async function addSecondNetwork(): Promise<void> {
  node.handlers.eth_chainId = () => '0x539';
  await h.wallet.addNetworkFromUi({ name: 'Second', chainId: 1337, rpcUrl: 'http://127.0.0.1:9545', symbol: 'ETH' });
  node.handlers.eth_chainId = () => '0x7a69';
}

describe('wallet_switchEthereumChain (MetaMask: permitted chains per site)', () => {
  it('a connected site switches at once to a network it was connected with', async () => {
    expect(await switchTo('0xaa36a7')).toBeNull();
    expect(await h.request('eth_chainId')).toBe('0xaa36a7');
    expect(await openApprovals(h)).toEqual([]);
  });

  it('a network added after the site connected needs a confirmation; once approved it is permitted', async () => {
    await addSecondNetwork();
    const pending = switchTo('0x539');
    const card = await shownCard(h, await nextApproval(h, 'switch-chain'));
    expect(card.display.title).toBe('Switch network');
    await h.wallet.decide(card.id, true);
    expect(await pending).toBeNull();
    expect(await switchTo('0x7a69')).toBeNull();
    expect(await switchTo('0x539')).toBeNull();
    expect((await h.view()).approvals.filter((entry) => entry.kind === 'switch-chain')).toHaveLength(1);
  });

  it('a permitted chain still asks while the site has a request waiting for the user (as MetaMask)', async () => {
    const signing = h.request('personal_sign', ['0x68656c6c6f', account]);
    await nextApproval(h, 'sign');
    const pending = switchTo('0xaa36a7');
    const card = await shownCard(h, (await openApprovals(h))[0]?.id as string);
    expect(card.kind).toBe('sign');
    await until(async () => (await h.view()).approvals.some((entry) => entry.kind === 'switch-chain'), 'the switch card');
    await h.wallet.approvalWindowClosed();
    await rejects(pending, RpcErrorCode.userRejected);
    await rejects(signing, RpcErrorCode.userRejected);
    expect((await h.view()).state.activeChainId).toBe(31337);
  });

  it('a site that is not connected always asks, and approving does not connect it', async () => {
    const pending = switchTo('0x1', OTHER_DAPP);
    await h.wallet.decide(await nextApproval(h, 'switch-chain'), true);
    expect(await pending).toBeNull();
    expect(await h.request('eth_accounts', [], OTHER_DAPP)).toEqual([]);
    const again = switchTo('0x7a69', OTHER_DAPP);
    await h.wallet.decide(await nextApproval(h, 'switch-chain'), true);
    expect(await again).toBeNull();
  });

  it('permissions granted before permitted chains existed keep switching as before', async () => {
    await connect(h, 'https://old.example');
    await h.wallet.state.update((draft) => {
      const { chains: _chains, ...legacy } = draft.permissions['https://old.example'] as { accounts: string[]; grantedAt: number; chains?: number[] };
      draft.permissions = { ...draft.permissions, 'https://old.example': legacy };
    });
    expect(await switchTo('0x1', 'https://old.example')).toBeNull();
  });
});

describe('a network per connected site (MetaMask: SelectedNetworkController)', () => {
  const THIRD = 'https://third.example';
  const chainOf = (origin: string) => h.request('eth_chainId', [], origin);
  const chainEvents = () => h.events.filter((event) => event.event === 'chainChanged');

  beforeEach(async () => {
    await connect(h, OTHER_DAPP);
    h.events.length = 0;
  });

  it('a site that switches moves alone: other sites, pages not connected and Duet stay, and only it hears chainChanged', async () => {
    expect(await switchTo('0xaa36a7')).toBeNull();
    expect(await chainOf(DAPP)).toBe('0xaa36a7');
    expect(await h.request('net_version', [], DAPP)).toBe('11155111');
    expect(await chainOf(OTHER_DAPP)).toBe('0x7a69');
    expect(await chainOf(THIRD)).toBe('0x7a69');
    expect((await h.view()).state.activeChainId).toBe(31337);
    expect(chainEvents()).toEqual([{ to: DAPP, event: 'chainChanged', payload: '0xaa36a7' }]);
  });

  it("a site's requests are built on its own network, and a connection made later starts on Duet's", async () => {
    await switchTo('0xaa36a7');
    void h.request('personal_sign', ['0x68656c6c6f', account]).catch(() => undefined);
    expect((await shownCard(h, await nextApproval(h, 'sign'))).network).toMatch(/^Sepolia/);
    await h.wallet.approvalWindowClosed();
    void h.request('personal_sign', ['0x68656c6c6f', account], OTHER_DAPP).catch(() => undefined);
    expect((await shownCard(h, await nextApproval(h, 'sign'))).network).toMatch(/^Local/);
    await h.wallet.approvalWindowClosed();
    await connect(h, THIRD);
    expect(await chainOf(THIRD)).toBe('0x7a69');
  });

  it("Duet's network moves the pages that follow it; a connected site keeps its own", async () => {
    await h.wallet.switchChain(1);
    expect(chainEvents()).toEqual([{ to: '*', event: 'chainChanged', payload: '0x1', except: [DAPP, OTHER_DAPP] }]);
    expect(await chainOf(THIRD)).toBe('0x1');
    expect(await chainOf(DAPP)).toBe('0x7a69');
  });

  it('locked, every page sees the wallet\'s network (which site is where is in the vault); unlocking gives each site its own back', async () => {
    await switchTo('0xaa36a7');
    h.events.length = 0;
    await h.wallet.lock();
    expect(await chainOf(DAPP)).toBe('0x7a69');
    expect(chainEvents()).toEqual([{ to: DAPP, event: 'chainChanged', payload: '0x7a69' }]);
    h.events.length = 0;
    await h.wallet.unlock(PASSWORD);
    expect(await chainOf(DAPP)).toBe('0xaa36a7');
    expect(chainEvents()).toEqual([{ to: DAPP, event: 'chainChanged', payload: '0xaa36a7' }]);
  });

  it("a site disconnected, or whose network is removed, follows Duet's network again and hears it", async () => {
    await addSecondNetwork();
    await h.wallet.setSiteNetworkFromUi(OTHER_DAPP, 1337);
    await switchTo('0xaa36a7');
    h.events.length = 0;
    await h.wallet.disconnectSite(DAPP);
    expect(await chainOf(DAPP)).toBe('0x7a69');
    await h.wallet.removeNetworkFromUi(1337);
    expect(await chainOf(OTHER_DAPP)).toBe('0x7a69');
    expect(chainEvents()).toEqual([
      { to: DAPP, event: 'chainChanged', payload: '0x7a69' },
      { to: OTHER_DAPP, event: 'chainChanged', payload: '0x7a69' },
    ]);
  });

  it('the user moves a connected site in the popup (Sites); bad input is a typed error and changes nothing', async () => {
    expect(await handleUiRequest(h.wallet, { action: 'set-site-network', origin: DAPP, chainId: 31337 })).toMatchObject({ ok: true });
    expect(await handleUiRequest(h.wallet, { action: 'set-site-network', origin: THIRD, chainId: 31337 })).toMatchObject({ ok: false, code: 'not_found', field: 'origin' });
    expect(await handleUiRequest(h.wallet, { action: 'set-site-network', origin: DAPP, chainId: 1 })).toMatchObject({ ok: false, code: 'invalid_input', field: 'chainId' });
    expect(await handleUiRequest(h.wallet, { action: 'set-site-network', origin: DAPP, chainId: '1' })).toMatchObject({ ok: false, code: 'invalid_input' });
    expect(await chainOf(DAPP)).toBe('0x7a69');
    expect(chainEvents()).toEqual([]);
  });

  it('a switch the user approves for a connected site moves that site only; the card says so', async () => {
    await addSecondNetwork();
    const pending = switchTo('0x539');
    const card = await shownCard(h, await nextApproval(h, 'switch-chain'));
    expect(card.display.fields).toContainEqual({ label: 'Applies to', value: SITE_SWITCH_SCOPE });
    await h.wallet.decide(card.id, true);
    await pending;
    expect(await chainOf(DAPP)).toBe('0x539');
    expect((await h.view()).state.activeChainId).toBe(31337);
    const other = switchTo('0x1', THIRD);
    expect((await shownCard(h, await nextApproval(h, 'switch-chain'))).display.fields).toContainEqual({ label: 'Applies to', value: WALLET_SWITCH_SCOPE });
    await h.wallet.decide((await openApprovals(h))[0]?.id as string, true);
    await other;
    expect((await h.view()).state.activeChainId).toBe(1);
    expect(await chainOf(DAPP)).toBe('0x539');
  });
});

describe('page settings: the MetaMask flag and window.ethereum', () => {
  it('are on by default, readable while locked, and changed from the popup', async () => {
    expect((await h.view()).pageSettings).toEqual({ metaMaskFlag: true, keepWindowEthereum: true });
    const answer = await handleUiRequest(h.wallet, { action: 'set-page-settings', metaMaskFlag: false, keepWindowEthereum: true });
    expect(answer.ok).toBe(true);
    await h.wallet.lock();
    expect((await h.view()).pageSettings).toEqual({ metaMaskFlag: false, keepWindowEthereum: true });
    expect(await h.local.get('duet/page-settings/v1')).toEqual({ metaMaskFlag: false, keepWindowEthereum: true });
  });

  it('bad input is a typed error and changes nothing', async () => {
    const answer = await handleUiRequest(h.wallet, { action: 'set-page-settings', metaMaskFlag: 'no', keepWindowEthereum: true });
    expect(answer).toMatchObject({ ok: false, code: 'invalid_input', field: 'metaMaskFlag' });
    expect((await h.view()).pageSettings).toEqual({ metaMaskFlag: true, keepWindowEthereum: true });
  });
});
