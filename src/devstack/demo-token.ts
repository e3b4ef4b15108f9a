/**
 * The end-to-end tests' ERC-20 (e2e/fixtures/DemoToken.sol, "DEMO", 18 decimals): deploys one with
 * a supply of 10^24 raw units and gives `amount` of it to `holder`. For tests and the dev stack only.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Contract, ContractFactory, type Signer } from 'ethers';

export const DEMO_TOKEN = JSON.parse(readFileSync(resolve('e2e/fixtures/DemoToken.json'), 'utf8')) as { abi: object[]; bytecode: string };

export async function deployDemoToken(deployer: Signer, holder: string, amount: bigint): Promise<string> {
  const deployed = await new ContractFactory(DEMO_TOKEN.abi, DEMO_TOKEN.bytecode, deployer).deploy(10n ** 24n);
  await deployed.waitForDeployment();
  const address = await deployed.getAddress();
  await (await new Contract(address, DEMO_TOKEN.abi, deployer).getFunction('transfer')(holder, amount)).wait();
  return address;
}
