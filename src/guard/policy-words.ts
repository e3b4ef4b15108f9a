/**
 * A Guard policy in words for the user (the extension's Guard section, the delayed queue): one
 * line per rule, and the lines a change alters. Amounts are ETH (the chain's native currency,
 * 18 decimals); a per-chain table reads "0.5 ETH on Ethereum (chain 1), 1 ETH on other chains".
 */
import { presetNetwork } from '../wallet/chains.ts';
import { short } from './decision-reasons.ts';
import { ANY_CHAIN, type Policy } from './policy.ts';
import { weiToEth } from './policy-form.ts';

export interface PolicyInWords {
  readonly daily: string;
  readonly perTransaction: string;
  readonly tokens: readonly string[];
  readonly allowList: readonly string[];
  readonly messages: string;
  readonly delay: string;
  readonly recovery: string;
}

export function chainName(chainId: number): string {
  const preset = presetNetwork(chainId);
  return preset ? `${preset.name} (chain ${chainId})` : `chain ${chainId}`;
}

/** `apart`: each chain has its own amount (a daily limit), not one shared by all. */
function table(values: Readonly<Record<string, bigint>>, unit: string, apart = false): string {
  const chains = Object.keys(values).filter((key) => key !== ANY_CHAIN);
  const rest = apart ? (chains.length === 0 ? 'each chain' : 'each other chain') : chains.length === 0 ? 'every chain' : 'other chains';
  const other = `${weiToEth(values[ANY_CHAIN] as bigint)} ETH ${unit} on ${rest}`;
  return [...chains.sort((a, b) => Number(a) - Number(b)).map((key) => `${weiToEth(values[key] as bigint)} ETH ${unit} on ${chainName(Number(key))}`), other].join(', ');
}

const hours = (count: number) => `${count} hour${count === 1 ? '' : 's'}`;

export function describePolicy(policy: Policy): PolicyInWords {
  return {
    daily: `Daily limit per account: ${table(policy.dailyNative, 'a day', true)} (value and network fees, over any 24 hours)`,
    perTransaction: `Per transaction: at most ${table(policy.perTransaction, 'each')}`,
    tokens:
      policy.dailyToken.length === 0
        ? ['Tokens: no daily allowance — every token transfer or approval waits the delay']
        : policy.dailyToken.map((entry) => `Token ${short(entry.token)} on ${chainName(entry.chainId)}: ${entry.limit.toString()} units a day`),
    allowList:
      policy.allowList.length === 0
        ? ['Allow-list: empty — every destination needs your code']
        : policy.allowList.map((entry) => `Allowed: ${entry.label ? `${entry.label} — ` : ''}${entry.address} on ${entry.chainId === null ? 'every chain' : chainName(entry.chainId)}`),
    messages: policy.messages === 'allow' ? 'Messages and sign-ins: signed without a code' : 'Messages and sign-ins: need your code',
    delay: `Above a limit: waits ${hours(policy.delayHours)}, cancellable from any of your devices`,
    recovery: `Recovery: the Guard helps only after a security period of ${hours(policy.recoveryHours)}`,
  };
}

/** Every line of the policy in words, in order. */
export function policyLines(policy: Policy): string[] {
  const words = describePolicy(policy);
  return [words.daily, words.perTransaction, ...words.tokens, ...words.allowList, words.messages, words.delay, words.recovery];
}

/** What `next` changes in `current`, in words: the new lines ("now: …") and the dropped ones ("no longer: …"). */
export function describePolicyChange(current: Policy, next: Policy): string[] {
  const before = policyLines(current);
  const after = policyLines(next);
  return [...after.filter((line) => !before.includes(line)).map((line) => `now: ${line}`), ...before.filter((line) => !after.includes(line)).map((line) => `no longer: ${line}`)];
}
