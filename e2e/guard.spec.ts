/**
 * Duet Guard end to end (issue 15): the built extension in Chromium, the phone app served by the
 * relay, the relay on loopback, anvil, and a real Guard in its own process (PGlite in a temporary
 * folder, its key-encryption key handed in by environment). The user adds the Guard from the
 * Devices page (address + printed code, the SAS, the TOTP setup with its first code, the rules —
 * RECIPIENT on the allow-list, 1 ETH a day — the phone links by the Guard link and approves the
 * Guard), then, with the phone page closed, a transfer within the limit to RECIPIENT signs with the
 * browser and the Guard without a code and anvil mines it; a transfer to an address not on the
 * allow-list asks for the authenticator's code: a wrong code is refused, the right one signs, and
 * anvil mines it; above the limit the Guard delays the transfer: the extension lists it (Home hints
 * at it), and the phone, opened again, cancels it. In the extension's editor, a loosening asks for
 * the code, waits with its time and is cancelled there; a tightening applies at once. TOTP codes
 * are computed here (otplib), as an app would.
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
const NOT_ALLOWED = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
const LONG_MS = 90_000;
const STEP_MS = 30_000;

/**
 * The authenticator's code as the user would type it next: the Guard takes each time step once and
 * only within one step of its clock, so a later step than the last one used, waiting if need be.
 */
function authenticator(secret: string) {
  // The step of now was used to confirm the second factor (addGuardFromDevices).
  let last = Math.floor(Date.now() / STEP_MS);
  return async (): Promise<string> => {
    for (;;) {
      const now = Math.floor(Date.now() / STEP_MS);
      const step = Math.max(last + 1, now);
      if (step <= now + 1) {
        last = step;
        return generateOtp(secret, step * STEP_MS + STEP_MS / 2);
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  };
}

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

test('add the Guard from the Devices page with its rules; phone closed: within the limit signs without a code (mined), an allow-list miss asks the code (wrong refused, right signs, mined); above the limit delayed, listed in the extension, cancelled from the phone; the editor: a loosening waits and is cancelled, a tightening applies at once', async ({ extension, dappServer, anvil }) => {
  test.setTimeout(240_000);
  const { context, extensionId } = extension;
  // The phone app at localhost (its screen lock needs a host name), its CSP allowing its own origin (the relay) and the Guard's.
  const urls = localStackUrls(relay, anvil.rpcUrl);
  await givePhoneKeys(context, fixtureKeys(0, 10));
  const { popup, phone, address } = await onboardAndPair(context, extensionId, urls);
  await popup.getByTestId('first-address-continue').click();
  const chain = new JsonRpcProvider(anvil.rpcUrl);
  await (await new Wallet(ANVIL_DEV_PRIVATE_KEY, chain).sendTransaction({ to: address, value: parseEther('2') })).wait();

  const rules = popup.getByTestId('guard-rules-words');
  const secret = await addGuardFromDevices(popup, phone, guard.process, async () => {
    // The rules, before the Guard joins (applied at once): RECIPIENT on the allow-list, 1 ETH a day.
    await expect(rules).toContainText('Allow-list: empty', { timeout: LONG_MS });
    await expect(rules).toContainText('Daily limit per account: 1 ETH a day on each chain');
    await popup.getByTestId('guard-allow-address').fill(RECIPIENT.replace('C5', 'c5'));
    await popup.getByTestId('guard-allow-add').click();
    await expect(popup.getByTestId('guard-allow-error')).toContainText('checksum');
    await popup.getByTestId('guard-allow-address').fill(RECIPIENT);
    await popup.getByTestId('guard-allow-label').fill('Savings');
    await popup.getByTestId('guard-allow-add').click();
    await expect(popup.getByTestId('guard-policy-outcome')).toContainText('apply at once');
    await popup.getByTestId('guard-policy-save').click();
    await expect(rules).toContainText(`Allowed: Savings — ${RECIPIENT} on every chain`, { timeout: LONG_MS });
  });
  const code = authenticator(secret);

  // The user asks the Guard first ("Ask it first": its pair key with this browser is set up).
  const guardRow = popup.locator('[data-role="guard"]');
  await expect(guardRow.getByTestId('member-make-default')).toBeVisible({ timeout: LONG_MS });
  await guardRow.getByTestId('member-make-default').click();

  // The phone is away: the browser and the Guard sign.
  // The phone app is closed (its tab left for another page: the tab keeps the screen lock's credential).
  await phone.goto('about:blank');
  const dapp = await context.newPage();
  await dapp.goto(`${dappServer.url}/index.html`);
  await connectDapp(context, dapp);

  // Within the limit to an allowed destination: no code is asked (a code asked would leave the request waiting).
  const allowedBefore = await chain.getBalance(RECIPIENT);
  const allowed = dappRequest(dapp, 'eth_sendTransaction', [{ from: address, to: RECIPIENT, value: `0x${parseEther('0.1').toString(16)}` }]);
  await (await approvalWindow(context)).getByTestId('approve').click();
  const allowedSent = await allowed;
  expect(allowedSent.error).toBeUndefined();
  await chain.waitForTransaction(allowedSent.result as string);
  expect((await chain.getBalance(RECIPIENT)) - allowedBefore).toBe(parseEther('0.1'));

  // A recipient not on the allow-list needs the code.
  const before = await chain.getBalance(NOT_ALLOWED);
  const sending = dappRequest(dapp, 'eth_sendTransaction', [{ from: address, to: NOT_ALLOWED, value: `0x${parseEther('0.1').toString(16)}` }]);
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
  await approval.getByTestId('guard-request-code').fill(await code());
  await approval.getByTestId('guard-request-code-submit').click();
  const sent = await sending;
  expect(sent.error).toBeUndefined();
  await chain.waitForTransaction(sent.result as string);
  expect((await chain.getBalance(NOT_ALLOWED)) - before).toBe(parseEther('0.1'));

  // Above the limit (1 ETH a day and per transfer): the Guard delays it; the site's request ends.
  const delayed = dappRequest(dapp, 'eth_sendTransaction', [{ from: address, to: RECIPIENT, value: `0x${parseEther('1.5').toString(16)}` }]);
  await (await approvalWindow(context)).getByTestId('approve').click();
  expect((await delayed).error).toBeDefined();

  // The extension lists it, in words, with when it is ready; Home says something waits.
  await popup.getByTestId('nav-home').click();
  await expect(popup.getByTestId('guard-waiting-hint')).toContainText('1 item waits', { timeout: LONG_MS });
  await popup.getByTestId('guard-waiting-open').click();
  const waiting = popup.getByTestId('guard-waiting-item');
  await expect(waiting).toContainText('Send ETH');
  await expect(waiting).toContainText(`To: ${RECIPIENT}`);
  await expect(waiting).toContainText('Amount: 1.5');
  await expect(waiting).toContainText('Ready at');

  // The phone, opened again, shows it waiting at the Guard and cancels it.
  await phone.goto(urls.phoneAppUrl);
  await unlockPhone(phone);
  await expect(phone.getByTestId('guard-queue-item')).toContainText('Send ETH', { timeout: LONG_MS });
  await phone.getByTestId('guard-queue-cancel').click();
  await expect(phone.getByTestId('guard-queue')).toHaveCount(0, { timeout: LONG_MS });
  // The Guard's queue event reaches the extension too.
  await expect(popup.getByTestId('guard-waiting')).toHaveCount(0, { timeout: LONG_MS });

  // Loosening in the extension's editor (2 ETH a day): the code, then it waits the delay; cancelled here.
  await popup.getByTestId('guard-policy-edit').click();
  await popup.getByTestId('guard-daily-0-eth').fill('2');
  await expect(popup.getByTestId('guard-policy-outcome')).toHaveAttribute('data-kind', 'loosens');
  await popup.getByTestId('guard-policy-save').click();
  await expect(popup.getByTestId('guard-policy-error')).toContainText('enter the code');
  await popup.getByTestId('guard-policy-code').fill(await code());
  await popup.getByTestId('guard-policy-save').click();
  const pending = popup.getByTestId('guard-policy-pending');
  await expect(pending).toContainText('Applies at', { timeout: LONG_MS });
  await expect(pending).toContainText('now: Daily limit per account: 2 ETH a day on each chain');
  await expect(popup.locator('[data-testid="guard-waiting-item"][data-kind="policy"]')).toContainText('A change of your Guard rules');
  await expect(rules).toContainText('Daily limit per account: 1 ETH a day on each chain');
  await popup.getByTestId('guard-policy-pending-cancel').click();
  await expect(pending).toHaveCount(0, { timeout: LONG_MS });
  await expect(popup.getByTestId('guard-waiting')).toHaveCount(0, { timeout: LONG_MS });

  // Tightening (0.5 ETH a day) needs no code and applies at once.
  await popup.getByTestId('guard-policy-edit').click();
  await popup.getByTestId('guard-daily-0-eth').fill('0.5');
  await expect(popup.getByTestId('guard-policy-outcome')).toHaveAttribute('data-kind', 'tightens');
  await popup.getByTestId('guard-policy-save').click();
  await expect(rules).toContainText('Daily limit per account: 0.5 ETH a day on each chain', { timeout: LONG_MS });
  await expect(pending).toHaveCount(0);
});
