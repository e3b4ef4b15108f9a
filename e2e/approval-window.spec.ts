/**
 * Attacks on the approval window and on wallet_addEthereumChain in real Chromium with the built
 * extension (set up with a password; no phone needed): a double click across two switch-chain
 * cards, a click right after the window gains focus, and pages probing RPC URLs on this computer.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { BrowserContext, Page } from '@playwright/test';
import { DEMO_PASSWORD, dappRequest, type DappResult } from '../src/devstack/demo-flow.ts';
import { expect, test } from './fixtures.ts';

const isApproval = (page: Page) => page.url().includes('/extension/approval/');

async function createVault(context: BrowserContext, extensionId: string): Promise<void> {
  const popup = await context.newPage();
  await popup.goto(`chrome-extension://${extensionId}/extension/popup/index.html`);
  await popup.getByTestId('create-password').fill(DEMO_PASSWORD);
  await popup.getByTestId('create-confirm').fill(DEMO_PASSWORD);
  await popup.getByTestId('create-submit').click();
  await popup.getByTestId('start-pairing').waitFor();
  await popup.close();
}

async function approvalWindow(context: BrowserContext): Promise<Page> {
  return context.pages().find(isApproval) ?? context.waitForEvent('page', { predicate: isApproval });
}

/** Waits, checking every few milliseconds, until the card on screen shows `text` in its "To" field. */
async function cardShows(approval: Page, text: string): Promise<void> {
  await approval.waitForFunction((expected) => document.querySelector('[data-testid="field-To"]')?.textContent === expected, text, { polling: 5 });
}

test('a double click never approves the card that replaced the first one; nor does a click as the window gains focus', async ({ extension, dappServer }) => {
  const { context, extensionId } = extension;
  await createVault(context, extensionId);
  const dapp = await context.newPage();
  await dapp.goto(`${dappServer.url}/index.html`);
  const opened = approvalWindow(context);
  const toMainnet = dappRequest(dapp, 'wallet_switchEthereumChain', [{ chainId: '0x1' }]);
  const approval = await opened;
  await expect(approval.getByTestId('field-To')).toHaveText('Ethereum (1)');
  const toSepolia = dappRequest(dapp, 'wallet_switchEthereumChain', [{ chainId: '0xaa36a7' }]);
  await expect(approval.getByTestId('approval-more')).toHaveText('1 more waiting.');

  const approve = approval.getByTestId('approve');
  await expect(approve).toBeEnabled();
  const box = await approve.boundingBox();
  if (!box) throw new Error('the approve button has no box');
  await approval.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await cardShows(approval, 'Sepolia (11155111)');
  // The second click of a double click lands on the new card's Approve button.
  await approval.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  expect((await toMainnet).result).toBeNull();
  await approval.waitForTimeout(700);
  await expect(approval.getByTestId('field-To')).toHaveText('Sepolia (11155111)');
  await expect(approval.getByTestId('approval-card')).toHaveAttribute('data-status', 'awaiting-user');
  expect((await dappRequest(dapp, 'eth_chainId')).result).toBe('0x1');

  // A click as the window gains focus is ignored too.
  await expect(approve).toBeEnabled();
  await approval.evaluate(() => window.dispatchEvent(new Event('focus')));
  await approval.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await approval.waitForTimeout(700);
  await expect(approval.getByTestId('approval-card')).toHaveAttribute('data-status', 'awaiting-user');
  await approval.getByTestId('reject').click();
  expect((await toSepolia).error?.code).toBe(4001);
  expect((await dappRequest(dapp, 'eth_chainId')).result).toBe('0x1');
});

test('wallet_addEthereumChain: no request reaches an RPC on this computer before the user approves, and none from a web site', async ({ extension, dappServer }) => {
  const { context, extensionId } = extension;
  const probes: { method: string; body: string }[] = [];
  const probe = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      probes.push({ method: request.method ?? '', body });
      response.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*', 'access-control-allow-headers': '*' });
      response.end(JSON.stringify({ jsonrpc: '2.0', id: 1, result: '0x7a69' }));
    });
  });
  await new Promise<void>((listening) => probe.listen(0, '127.0.0.1', listening));
  const address = probe.address();
  const probeUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const chain = (chainId: string) => ({ chainId, chainName: 'Probe', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: [probeUrl] });
  try {
    await createVault(context, extensionId);

    // A web site (not on this computer) names a loopback RPC: refused at once, nothing sent.
    await context.route('https://evil.example/**', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>evil</title><p>evil</p>' }));
    const evil = await context.newPage();
    await evil.goto('https://evil.example/');
    await evil.waitForFunction(() => typeof (window as unknown as { ethereum?: unknown }).ethereum === 'object');
    const refused = await dappRequest(evil, 'wallet_addEthereumChain', [chain('0x1234')]);
    expect(refused.error?.code).toBe(-32602);
    expect(refused.error?.message).toContain('cannot add a network on this computer');

    // A page on this computer may, but the user is asked first: nothing reaches the RPC before,
    // and a rejection sends nothing at all.
    const local = await context.newPage();
    await local.goto(`${dappServer.url}/index.html`);
    const opened = approvalWindow(context);
    const asking: Promise<DappResult> = dappRequest(local, 'wallet_addEthereumChain', [chain('0x1234')]);
    const approval = await opened;
    await expect(approval.getByTestId('request-title')).toHaveText('Add a network');
    await expect(approval.getByTestId('field-RPC URL')).toHaveText(probeUrl);
    await approval.getByTestId('reject').click();
    expect((await asking).error?.code).toBe(4001);

    // Approved: the RPC is asked for its chain id; it reports another chain, and the page learns
    // only that the network was not added.
    const approved: Promise<DappResult> = dappRequest(local, 'wallet_addEthereumChain', [chain('0x1235')]);
    await expect(approval.getByTestId('field-Chain ID')).toHaveText('4661 (0x1235)');
    expect(probes).toEqual([]);
    await approval.getByTestId('approve').click();
    const answer = await approved;
    expect(answer.error).toEqual({ code: -32603, message: 'Duet could not add this network.' });
    expect(probes.map((entry) => JSON.parse(entry.body || '{}').method)).toContain('eth_chainId');
    await expect(approval.getByTestId('approval-status')).toContainText('is chain 31337, not 4661');
  } finally {
    await new Promise((closed) => probe.close(closed));
  }
});
