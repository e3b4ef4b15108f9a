/**
 * A dApp using ethers' BrowserProvider on the provider it discovered through EIP-6963: ERC-20
 * transfer and an unlimited approval (decoded and flagged on both screens), and the phone app
 * closed while a request is pending, then reopened.
 */
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { Contract, ContractFactory, JsonRpcProvider, MaxUint256, NonceManager, Wallet, parseEther } from 'ethers';
import { ANVIL_DEV_PRIVATE_KEY } from '../src/devstack/anvil.ts';
import { connectDapp, localStackUrls, onboardAndPair, unlockPhone } from '../src/devstack/demo-flow.ts';
import { startRelay } from '../src/relay/relay-server.ts';
import { expect, test } from './fixtures.ts';

const token = JSON.parse(readFileSync(resolve('e2e/fixtures/DemoToken.json'), 'utf8')) as { abi: object[]; bytecode: string };
const RECIPIENT = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const SPENDER = '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65';

test('ERC-20 transfer and unlimited approval through ethers BrowserProvider, with the phone closed and reopened', async ({ extension, dappServer, anvil }) => {
  const relay = await startRelay({ port: 0, staticDir: 'dist-phone', log: () => undefined });
  const { context, extensionId } = extension;
  const { phone, address } = await onboardAndPair(context, extensionId, localStackUrls(relay, anvil.rpcUrl));

  const chain = new JsonRpcProvider(anvil.rpcUrl);
  const deployer = new NonceManager(new Wallet(ANVIL_DEV_PRIVATE_KEY, chain));
  const deployed = await new ContractFactory(token.abi, token.bytecode, deployer).deploy(10n ** 24n);
  await deployed.waitForDeployment();
  const tokenAddress = await deployed.getAddress();
  const asDeployer = new Contract(tokenAddress, token.abi, deployer);
  await (await asDeployer.getFunction('transfer')(address, 1000n)).wait();
  await (await deployer.sendTransaction({ to: address, value: parseEther('1') })).wait();

  const dapp = await context.newPage();
  await dapp.goto(`${dappServer.url}/index.html`);
  await dapp.addScriptTag({ path: resolve('node_modules/ethers/dist/ethers.umd.min.js') });
  const { approval } = await connectDapp(context, dapp);

  // The dApp finds Duet by EIP-6963 and talks to it through ethers' BrowserProvider.
  const sendToken = (data: { method: string; args: unknown[] }) =>
    dapp.evaluate(
      async ({ tokenAddress, data }) => {
        const w = window as unknown as { __announced: { info: { rdns: string }; provider: unknown }[]; ethers: any };
        const duet = w.__announced.find((d) => d.info.rdns === 'app.duet.wallet');
        const provider = new w.ethers.BrowserProvider(duet?.provider);
        const signer = await provider.getSigner();
        const erc20 = new w.ethers.Contract(tokenAddress, ['function transfer(address,uint256) returns (bool)', 'function approve(address,uint256) returns (bool)'], signer);
        const tx = await erc20[data.method](...data.args);
        return tx.hash as string;
      },
      { tokenAddress, data },
    );

  const transferring = sendToken({ method: 'transfer', args: [RECIPIENT, 100] });
  await expect(approval.getByTestId('request-title')).toHaveText('Send tokens (ERC-20 transfer)');
  await expect(approval.getByTestId('field-Recipient')).toHaveText(RECIPIENT);
  await approval.getByTestId('approve').click();
  await expect(phone.getByTestId('phone-request-title')).toHaveText('Send tokens (ERC-20 transfer)');
  await phone.getByTestId('phone-approve').click();
  await chain.waitForTransaction(await transferring);
  expect(await asDeployer.getFunction('balanceOf')(RECIPIENT)).toBe(100n);

  // The phone app is closed (its tab left for a blank page) before the next request; opened
  // again and unlocked, the request is there. The tab stays: it holds the phone's authenticator.
  const phoneUrl = new URL(phone.url()).origin + '/';
  await phone.goto('about:blank');
  const approving = sendToken({ method: 'approve', args: [SPENDER, MaxUint256] });
  await expect(approval.getByTestId('request-title')).toHaveText('Allow spending of your tokens (ERC-20 approve)');
  await expect(approval.getByTestId('request-warning').filter({ hasText: 'Unlimited approval' })).toHaveCount(1);
  await approval.getByTestId('approve').click();
  const reopened = phone;
  await reopened.goto(phoneUrl);
  await unlockPhone(reopened);
  await expect(reopened.getByTestId('phone-request-warning').filter({ hasText: 'Unlimited approval' })).toHaveCount(1, { timeout: 60_000 });
  await reopened.getByTestId('phone-approve').click();
  await chain.waitForTransaction(await approving);
  expect(await asDeployer.getFunction('allowance')(address, SPENDER)).toBe(MaxUint256);
  await relay.close();
});
