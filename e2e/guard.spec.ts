/**
 * Duet Guard end to end (issue 15): the built extension in Chromium, the phone app served by the
 * relay, the relay on loopback, anvil, and a real Guard in its own process (PGlite in a temporary
 * folder, its key-encryption key handed in by environment). The user adds the Guard from the
 * Devices page (address + printed code, the SAS, the TOTP setup with its first code, the phone
 * links by the Guard link and approves the Guard), then, with the phone page closed, a transfer to
 * an address not on the allow-list asks for the authenticator's code: a wrong code is refused, the
 * right one signs, and anvil mines it; above the limit the Guard delays the transfer, and the phone,
 * opened again, sees it waiting at the Guard and cancels it. TOTP codes are computed here (otplib), as
 * an app would.
 */
import { JsonRpcProvider, Wallet, parseEther } from 'ethers';
import { ANVIL_DEV_PRIVATE_KEY } from '../src/devstack/anvil.ts';
import { approvalWindow, connectDapp, dappRequest, localStackUrls, onboardAndPair, unlockPhone } from '../src/devstack/demo-flow.ts';
import { startRelay, type RunningRelay } from '../src/relay/relay-server.ts';
import { generateOtp } from '../test/guard/support/totp.ts';
import { expect, test } from './fixtures.ts';
import { addGuardFromDevices, startE2eGuard, type E2eGuard } from './support/guard.ts';
import { fixtureKeys, givePhoneKeys } from './support/members.ts';

const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const LONG_MS = 90_000;

let relay: RunningRelay;
let guard: E2eGuard;
const guardOrigins: string[] = [];

test.beforeAll(async () => {
  relay = await startRelay({ port: 0, staticDir: 'dist-phone', log: () => undefined, phoneGuardOrigins: () => guardOrigins });
  guard = await startE2eGuard(relay, guardOrigins);
});
test.afterAll(async () => {
  await guard?.close();
  await relay?.close();
});

test('add the Guard from the Devices page; phone closed: an allow-list miss asks the code (wrong refused, right signs, mined); above the limit delayed, cancelled from the phone', async ({ extension, dappServer, anvil }) => {
  test.setTimeout(240_000);
  const { context, extensionId } = extension;
  // The phone app at localhost (its screen lock needs a host name), its CSP allowing its own origin (the relay) and the Guard's.
  const urls = localStackUrls(relay, anvil.rpcUrl);
  await givePhoneKeys(context, fixtureKeys(0, 10));
  const { popup, phone, address } = await onboardAndPair(context, extensionId, urls);
  await popup.getByTestId('first-address-continue').click();
  const chain = new JsonRpcProvider(anvil.rpcUrl);
  await (await new Wallet(ANVIL_DEV_PRIVATE_KEY, chain).sendTransaction({ to: address, value: parseEther('2') })).wait();

  const secret = await addGuardFromDevices(popup, phone, guard.process);

  // The user asks the Guard first ("Ask it first": its pair key with this browser is set up).
  const guardRow = popup.locator('[data-role="guard"]');
  await expect(guardRow.getByTestId('member-make-default')).toBeVisible({ timeout: LONG_MS });
  await guardRow.getByTestId('member-make-default').click();

  // The phone is away: the browser and the Guard sign. A recipient not on the allow-list needs the code.
  // The phone app is closed (its tab left for another page: the tab keeps the screen lock's credential).
  await phone.goto('about:blank');
  const dapp = await context.newPage();
  await dapp.goto(`${dappServer.url}/index.html`);
  await connectDapp(context, dapp);
  const before = await chain.getBalance(RECIPIENT);
  const sending = dappRequest(dapp, 'eth_sendTransaction', [{ from: address, to: RECIPIENT, value: `0x${parseEther('0.1').toString(16)}` }]);
  const approval = await approvalWindow(context);
  await expect(approval.getByTestId('request-title')).toHaveText('Send ETH');
  await approval.getByTestId('approve').click();
  await expect(approval.getByTestId('guard-decision')).toHaveAttribute('data-verdict', 'second_factor', { timeout: LONG_MS });
  await expect(approval.getByTestId('guard-reasons')).toContainText('allow-list');
  await expect(approval.getByTestId('guard-reasons')).toContainText("Within today's limit");

  // A wrong code is refused (the Guard says how many tries are left); the right one signs.
  await approval.getByTestId('guard-request-code').fill(generateOtp(secret, Date.now() + 10 * 60_000));
  await approval.getByTestId('guard-request-code-submit').click();
  await expect(approval.getByTestId('guard-request-code-error')).toContainText('Wrong code', { timeout: LONG_MS });
  // The next step's code: the step of the enrolment's code may be the current one (a code is used once).
  await approval.getByTestId('guard-request-code').fill(generateOtp(secret, Date.now() + 30_000));
  await approval.getByTestId('guard-request-code-submit').click();
  const sent = await sending;
  expect(sent.error).toBeUndefined();
  await chain.waitForTransaction(sent.result as string);
  expect((await chain.getBalance(RECIPIENT)) - before).toBe(parseEther('0.1'));

  // Above the limit (1 ETH a day and per transfer): the Guard delays it; the site's request ends.
  const delayed = dappRequest(dapp, 'eth_sendTransaction', [{ from: address, to: RECIPIENT, value: `0x${parseEther('1.5').toString(16)}` }]);
  await (await approvalWindow(context)).getByTestId('approve').click();
  expect((await delayed).error).toBeDefined();

  // The phone, opened again, shows it waiting at the Guard and cancels it.
  await phone.goto(urls.phoneAppUrl);
  await unlockPhone(phone);
  await expect(phone.getByTestId('guard-queue-item')).toContainText('Send ETH', { timeout: LONG_MS });
  await phone.getByTestId('guard-queue-cancel').click();
  await expect(phone.getByTestId('guard-queue')).toHaveCount(0, { timeout: LONG_MS });
});
