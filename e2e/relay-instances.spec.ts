/**
 * The co-signing flow once over two relay instances sharing a real redis-server, behind one
 * round-robin address (test/relay/balancer.ts, no sticky routing): the extension's WebSocket and
 * the phone's land on different instances, and pairing, key generation and a co-signed transfer
 * go through both.
 */
import { JsonRpcProvider, Wallet, parseEther } from 'ethers';
import { ANVIL_DEV_PRIVATE_KEY } from '../src/devstack/anvil.ts';
import { connectDapp, dappRequest, localStackUrls, onboardAndPair } from '../src/devstack/demo-flow.ts';
import { startRelay, type RunningRelay } from '../src/relay/relay-server.ts';
import { startBalancer, type Balancer } from '../test/relay/balancer.ts';
import { startRedisServer, type RedisServer } from '../test/relay/redis-server.ts';
import { expect, test } from './fixtures.ts';

const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

let redis: RedisServer;
let relays: RunningRelay[];
let balancer: Balancer;

test.skip(process.env.DUET_SKIP_REDIS === '1', 'DUET_SKIP_REDIS=1');

test.beforeAll(async () => {
  redis = await startRedisServer();
  const options = { port: 0, staticDir: 'dist-phone', log: () => undefined, redisUrl: redis.url, redisPrefix: 'e2e:' };
  relays = [await startRelay(options), await startRelay(options)];
  balancer = await startBalancer(relays.map((relay) => relay.port));
});
test.afterAll(async () => {
  await balancer?.close();
  for (const relay of relays ?? []) await relay.close();
  await redis?.dispose();
});

test('pair and co-sign a transfer with the extension and the phone on different relay instances', async ({ extension, dappServer, anvil }) => {
  const { context, extensionId } = extension;
  const { phone, address } = await onboardAndPair(context, extensionId, localStackUrls(balancer, anvil.rpcUrl));
  expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/);

  const chain = new JsonRpcProvider(anvil.rpcUrl);
  await (await new Wallet(ANVIL_DEV_PRIVATE_KEY, chain).sendTransaction({ to: address, value: parseEther('1') })).wait();
  const dapp = await context.newPage();
  await dapp.goto(`${dappServer.url}/index.html`);
  const { approval } = await connectDapp(context, dapp);
  const before = await chain.getBalance(RECIPIENT);
  const sending = dappRequest(dapp, 'eth_sendTransaction', [{ from: address, to: RECIPIENT, value: `0x${parseEther('0.25').toString(16)}` }]);
  await approval.getByTestId('approve').click();
  await phone.getByTestId('phone-approve').click();
  const sent = await sending;
  expect(sent.error).toBeUndefined();
  expect((await chain.waitForTransaction(sent.result as string))?.status).toBe(1);
  expect((await chain.getBalance(RECIPIENT)) - before).toBe(parseEther('0.25'));

  // Both instances took frames from their member: every frame crossed from one instance to the other.
  const stats = await Promise.all(relays.map((relay) => relay.stats()));
  expect(stats.map((s) => s.framesRouted > 0)).toEqual([true, true]);
  expect([...balancer.placed.values()].every((count) => count > 0)).toBe(true);
});
