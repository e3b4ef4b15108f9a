import { expect, test } from './fixtures.ts';

test('the provider exists at document_start and answers EIP-6963 discovery', async ({ extension, dappServer }) => {
  const page = await extension.context.newPage();
  await page.goto(`${dappServer.url}/index.html`);
  const seen = await page.evaluate(() => (window as unknown as { __seenAtStart: { hasEthereum: boolean } }).__seenAtStart);
  expect(seen.hasEthereum).toBe(true);

  const announced = await page.evaluate(() =>
    (window as unknown as { __announced: { info: { name: string; rdns: string; uuid: string; icon: string } }[] }).__announced.map((d) => d.info),
  );
  expect(announced.length).toBeGreaterThanOrEqual(1);
  expect(announced[0]?.name).toBe('Duet');
  expect(announced[0]?.rdns).toBe('app.duet.wallet');
  expect(announced[0]?.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(announced[0]?.icon).toMatch(/^data:image\/svg\+xml;base64,/);

  const lateAnnouncements = await page.evaluate(async () => {
    const infos: string[] = [];
    window.addEventListener('eip6963:announceProvider', (event) => infos.push((event as CustomEvent).detail.info.name));
    window.dispatchEvent(new Event('eip6963:requestProvider'));
    return infos;
  });
  expect(lateAnnouncements).toEqual(['Duet']);

  const chainId = await page.evaluate(() => (window as unknown as { ethereum: { request(a: object): Promise<unknown> } }).ethereum.request({ method: 'eth_chainId' }));
  expect(chainId).toBe('0x7a69');
  await page.close();
});

test('the popup renders', async ({ extension }) => {
  const page = await extension.context.newPage();
  await page.goto(`chrome-extension://${extension.extensionId}/extension/popup/index.html`);
  await expect(page.getByTestId('popup-root')).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Duet' })).toBeVisible();
  await page.close();
});

test('anvil serves the local chain with funded dev accounts', async ({ anvil }) => {
  const response = await fetch(anvil.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', 'latest'] }),
  });
  const { result } = (await response.json()) as { result: string };
  expect(BigInt(result)).toBeGreaterThan(0n);
});
