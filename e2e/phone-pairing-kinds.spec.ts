/**
 * A paired phone shown other pairing links, and a compromised extension substituting the account
 * (issue 11, points 1 and 2), in Chromium with the phone's screen lock (virtual authenticator) and
 * Node extension peers: a new-wallet link is refused and the wallet keeps its key and connection;
 * an add-member link is refused; a request showing account 0 but
 * signing with account 1 is refused (bad_request) and never shown.
 * (Since the {2,n} wallet: an add-member link is refused — a phone is a member of one wallet — and
 * a recover link from another browser is taken as far as its code, where "No" changes nothing.)
 */
import { chromium } from 'playwright-core';
import { findChromium } from '../src/devstack/chromium.ts';
import { localStackUrls, newPhonePage, protectPhone, unlockPhone } from '../src/devstack/demo-flow.ts';
import { startRelay } from '../src/relay/relay-server.ts';
import { CoSigningFailed } from '../src/session/extension-cosigner.ts';
import { expect, test } from './fixtures.ts';
import { peerAddress, personalSignRequest, startNodeExtensionPeer, type NodeExtensionPeer } from './support/node-extension-peer.ts';

test('a paired phone keeps its wallet when shown other pairing links, and signs only for the account it shows', async ({}, testInfo) => {
  const relay = await startRelay({ port: 0, staticDir: 'dist-phone', log: () => undefined });
  const urls = localStackUrls(relay, '');
  const peers: NodeExtensionPeer[] = [];
  const peer = async (kind?: Parameters<typeof startNodeExtensionPeer>[3]) => {
    const started = await startNodeExtensionPeer(urls.relayWsUrl, urls.phoneAppUrl, undefined, kind);
    peers.push(started);
    return started;
  };
  const browser = await chromium.launch({ executablePath: findChromium(), headless: true, args: ['--disable-background-networking', '--no-first-run', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])] });
  try {
    const phone = await newPhonePage(await browser.newContext({ isMobile: true, hasTouch: true }));
    const wallet = await peer();
    await phone.goto(wallet.link);
    await protectPhone(phone);
    await expect(phone.getByTestId('phone-sas')).toHaveText(/\d{6}/);
    await expect.poll(() => wallet.sas()).toBe(await phone.getByTestId('phone-sas').textContent());
    wallet.channel.confirmSas();
    await phone.getByTestId('phone-sas-match').click();
    const address = await phone.getByTestId('phone-address').textContent({ timeout: 60_000 });
    expect(address).toBe(peerAddress(wallet));

    // Another extension's new-wallet link, opened on the paired phone (the app started anew and
    // unlocked): refused, nothing replaced.
    const other = await peer();
    await phone.goto('about:blank');
    await phone.goto(other.link);
    await unlockPhone(phone);
    await expect(phone.getByTestId('phone-error')).toContainText('already co-signs the wallet');
    await expect(phone.getByTestId('phone-address')).toHaveText(address as string);
    expect(other.sas()).toBe('');
    await phone.screenshot({ path: testInfo.outputPath('phone-new-wallet-link-refused.png') });
    // An add-member link, opened while the app runs (the fragment changes): a phone is a member of one wallet.
    await phone.goto((await peer('add-member')).link);
    await expect(phone.getByTestId('phone-error')).toContainText('already a member of the wallet');
    await expect(phone.getByTestId('phone-address')).toHaveText(address as string);
    // A recover link (a new browser of this wallet) goes as far as the code; "No" there changes nothing.
    await phone.goto((await peer('recover')).link);
    await expect(phone.getByTestId('phone-sas')).toHaveText(/\d{6}/);
    await phone.getByTestId('phone-sas-mismatch').click();
    await expect(phone.getByTestId('phone-error')).toContainText('pairing stopped');
    await expect(phone.getByTestId('phone-address')).toHaveText(address as string);

    // The wallet still signs; a request whose index does not derive the shown address is refused.
    const substituted = { ...personalSignRequest(address as string, '0x6869'), account: { index: 1, address: address as string } };
    const refused = await wallet.cosigner.requestSignature(substituted).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CoSigningFailed);
    expect((refused as CoSigningFailed).reason).toBe('bad_request');
    await expect(phone.getByTestId('phone-request')).toHaveCount(0);
    const signing = wallet.cosigner.requestSignature(personalSignRequest(address as string, '0x6869'));
    await expect(phone.getByTestId('phone-field-Account')).toHaveText(address as string);
    await phone.getByTestId('phone-approve').click();
    await expect(signing).resolves.toMatchObject({ r: expect.any(BigInt) });
  } finally {
    for (const started of peers) started.close();
    await browser.close();
    await relay.close();
  }
});
