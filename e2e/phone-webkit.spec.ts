/**
 * The phone app in WebKit (the engine of Safari; see e2e/support/webkit-driver.ts), at a phone's
 * size, against the real relay and a Node extension peer: choose a passphrase (WebKitGTK has no
 * platform authenticator, so the app offers only that), pair from the opened
 * link (SAS on both sides, key generation in WebKit), a decoded request approved → a signature
 * that recovers to the address, a rejection, no horizontal scrolling, and the key still there after
 * a reload (IndexedDB + WebCrypto in WebKit).
 */
import { hashMessage, recoverAddress, Signature, toBeHex } from 'ethers';
import { DEMO_PASSPHRASE } from '../src/devstack/demo-flow.ts';
import { startRelay } from '../src/relay/relay-server.ts';
import { CoSigningRejected } from '../src/session/extension-cosigner.ts';
import { expect, test } from './fixtures.ts';
import { peerAddress, personalSignRequest, startNodeExtensionPeer } from './support/node-extension-peer.ts';
import { launchWebKit, webkitAvailable, WEBKIT_INSTALL_HINT } from './support/webkit-driver.ts';

const SKIP_WEBKIT = process.env.DUET_SKIP_WEBKIT === '1';

test('the phone app in WebKit: pairs, shows and co-signs a request, rejects one, keeps its key across a reload', async ({}, testInfo) => {
  test.skip(SKIP_WEBKIT, 'DUET_SKIP_WEBKIT=1');
  expect(webkitAvailable(), WEBKIT_INSTALL_HINT).toBe(true);
  test.setTimeout(180_000);
  const relay = await startRelay({ port: 0, staticDir: 'dist-phone', log: () => undefined });
  const peer = await startNodeExtensionPeer(relay.wsUrl, `${relay.url}/`);
  const phone = await launchWebKit();
  const shot = async (name: string) => testInfo.attach(name, { body: await phone.screenshot(), contentType: 'image/png' });
  try {
    await phone.setWindowSize(390, 844);
    await phone.goto(peer.link);
    await phone.fill('passphrase', DEMO_PASSPHRASE);
    await phone.fill('passphrase-confirm', DEMO_PASSPHRASE);
    await phone.click('passphrase-submit');
    const sas = await phone.waitForText('phone-sas', /^\d{6}$/);
    await expect.poll(() => peer.sas()).toBe(sas);
    peer.channel.confirmSas();
    await phone.click('phone-sas-match');
    await phone.waitForText('phone-address', /^0x[0-9a-fA-F]{40}$/, 120_000);
    const address = peerAddress(peer);
    expect(await phone.text('phone-address')).toBe(address);
    expect(await phone.evaluate<boolean>('return document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await shot('webkit-phone-paired');

    const request = personalSignRequest(address, '0x48656c6c6f205765624b6974');
    const signing = peer.cosigner.requestSignature(request);
    await phone.waitForText('phone-field-Message', /^Hello WebKit$/);
    expect(await phone.text('phone-request-origin')).toBe('https://dapp.example');
    await shot('webkit-phone-request');
    await phone.click('phone-approve');
    const signature = await signing;
    expect(recoverAddress(hashMessage('Hello WebKit'), Signature.from({ r: toBeHex(signature.r, 32), s: toBeHex(signature.s, 32), yParity: signature.yParity }))).toBe(address);

    const rejecting = peer.cosigner.requestSignature(personalSignRequest(address, '0x6e6f')).catch((error: unknown) => error);
    await phone.waitForText('phone-field-Message', /^no$/);
    await phone.click('phone-reject');
    expect(await rejecting).toBeInstanceOf(CoSigningRejected);

    await phone.reload();
    await phone.fill('passphrase', DEMO_PASSPHRASE);
    await phone.click('unlock-submit');
    expect(await phone.waitForText('phone-address', /^0x/)).toBe(address);
  } finally {
    await phone.close();
    peer.close();
    await relay.close();
  }
});
