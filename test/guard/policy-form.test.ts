/**
 * The extension's Guard policy editor, its pure part: the form → policy conversion (ETH to wei
 * exactly, checksummed addresses, chains, hours) with a typed error naming the field for every
 * bad value, the policy in words, and the delayed queue in words.
 */
import { describe, expect, it } from 'vitest';
import { parseEther } from 'ethers';
import { changeKind, checkedAddress, ethToWei, formFromPolicy, parsePolicyForm, policyFromForm, PolicyFormError, weiToEth, type PolicyForm } from '../../src/guard/policy-form.ts';
import { describePolicy, describePolicyChange, policyLines } from '../../src/guard/policy-words.ts';
import { describeQueueItem } from '../../src/guard/queue-words.ts';
import { DEFAULT_POLICY, encodePolicy, type Policy } from '../../src/guard/policy.ts';
import { encodeSigningRequest } from '../../src/wallet/signing-request.ts';
import { transactionRequest } from '../wallet/wallet-fixtures.ts';

const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const NOW = Date.UTC(2026, 11, 3, 12, 0);

function form(change: Partial<PolicyForm> = {}): PolicyForm {
  return { ...formFromPolicy(DEFAULT_POLICY), ...change };
}

function expectFormError(run: () => unknown, field: string, message: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PolicyFormError);
  expect((caught as PolicyFormError).field).toBe(field);
  expect((caught as PolicyFormError).message).toMatch(message);
}

describe('ETH to wei', () => {
  it('converts exactly, without a float', () => {
    expect(ethToWei('1', 'f')).toBe(10n ** 18n);
    expect(ethToWei('0.1', 'f')).toBe(10n ** 17n);
    expect(ethToWei(' 1.000000000000000001 ', 'f')).toBe(10n ** 18n + 1n);
    // 0.1 + 0.2 as floats is 0.30000000000000004: the text is taken digit by digit.
    expect(ethToWei('0.3', 'f')).toBe(parseEther('0.3'));
    expect(ethToWei('123456789.123456789123456789', 'f')).toBe(parseEther('123456789.123456789123456789'));
    expect(weiToEth(10n ** 17n)).toBe('0.1');
    expect(weiToEth(2n * 10n ** 18n)).toBe('2');
  });

  it('refuses negative, too precise, empty, malformed and oversized amounts, naming the field', () => {
    expectFormError(() => ethToWei('-1', 'dailyEth[0].eth'), 'dailyEth[0].eth', /negative/);
    expectFormError(() => ethToWei('0.0000000000000000001', 'dailyEth[0].eth'), 'dailyEth[0].eth', /Too precise/);
    expectFormError(() => ethToWei('', 'x'), 'x', /Enter an amount/);
    for (const bad of ['1e18', '1,5', '0x10', '.5', '1.', 'NaN', 'Infinity', '1 000']) expectFormError(() => ethToWei(bad, 'x'), 'x', /not an amount/);
    expectFormError(() => ethToWei('9'.repeat(80), 'x'), 'x', /Too large/);
  });
});

describe('addresses', () => {
  it('takes a checksummed or a single-case address and stores it checksummed', () => {
    expect(checkedAddress(RECIPIENT, 'a')).toBe(RECIPIENT);
    expect(checkedAddress(RECIPIENT.toLowerCase(), 'a')).toBe(RECIPIENT);
    expect(checkedAddress(`0x${RECIPIENT.slice(2).toUpperCase()}`, 'a')).toBe(RECIPIENT);
  });

  it('refuses a mixed-case address whose checksum is wrong (a typo), and what is not an address', () => {
    // One letter's case flipped: the EIP-55 checksum no longer matches.
    const typo = RECIPIENT.replace('C5', 'c5');
    expectFormError(() => checkedAddress(typo, 'allowList[0].address'), 'allowList[0].address', /checksum/);
    expectFormError(() => checkedAddress('0x1234', 'a'), 'a', /Not an address/);
    expectFormError(() => checkedAddress(`${RECIPIENT}00`, 'a'), 'a', /Not an address/);
    expectFormError(() => checkedAddress('vitalik.eth', 'a'), 'a', /Not an address/);
  });
});

describe('the form as a policy', () => {
  it('round-trips the policy, keeping the token limits it does not edit', () => {
    const policy: Policy = {
      ...DEFAULT_POLICY,
      dailyNative: { '*': parseEther('1'), '1': parseEther('0.5') },
      dailyToken: [{ chainId: 1, token: RECIPIENT, limit: 500n }],
      allowList: [{ address: RECIPIENT, chainId: null, label: 'Savings' }, { address: RECIPIENT, chainId: 10, label: 'On Optimism' }],
      messages: 'second_factor',
      delayHours: 30,
    };
    expect(policyFromForm(formFromPolicy(policy), policy)).toEqual(policy);
    expect(formFromPolicy(policy).dailyEth).toEqual([{ chain: '*', eth: '1' }, { chain: '1', eth: '0.5' }]);
  });

  it('reads an allow-list entry for every chain ("" or "*") or one chain', () => {
    const policy = policyFromForm(form({ allowList: [{ address: RECIPIENT.toLowerCase(), label: ' Savings ', chain: '' }, { address: RECIPIENT, label: '', chain: '31337' }] }), DEFAULT_POLICY);
    expect(policy.allowList).toEqual([{ address: RECIPIENT, chainId: null, label: 'Savings' }, { address: RECIPIENT, chainId: 31337, label: '' }]);
  });

  it('refuses each bad value with the field it is in', () => {
    expectFormError(() => policyFromForm(form({ dailyEth: [{ chain: '1', eth: '1' }] }), DEFAULT_POLICY), 'dailyEth', /other chains \("\*"\) is missing/);
    expectFormError(() => policyFromForm(form({ perTransactionEth: [{ chain: '*', eth: '1' }, { chain: '*', eth: '2' }] }), DEFAULT_POLICY), 'perTransactionEth[1].chain', /twice/);
    expectFormError(() => policyFromForm(form({ dailyEth: [{ chain: '*', eth: '1' }, { chain: '0', eth: '1' }] }), DEFAULT_POLICY), 'dailyEth[1].chain', /not a chain id/);
    expectFormError(() => policyFromForm(form({ dailyEth: [{ chain: '*', eth: '1' }, { chain: '01', eth: '1' }] }), DEFAULT_POLICY), 'dailyEth[1].chain', /not a chain id/);
    expectFormError(() => policyFromForm(form({ dailyEth: [{ chain: '*', eth: '-0.5' }] }), DEFAULT_POLICY), 'dailyEth[0].eth', /negative/);
    expectFormError(() => policyFromForm(form({ perTransactionEth: [{ chain: '*', eth: '0.1234567890123456789' }] }), DEFAULT_POLICY), 'perTransactionEth[0].eth', /Too precise/);
    expectFormError(() => policyFromForm(form({ allowList: [{ address: RECIPIENT.replace('C5', 'c5'), label: '', chain: '' }] }), DEFAULT_POLICY), 'allowList[0].address', /checksum/);
    expectFormError(() => policyFromForm(form({ allowList: [{ address: RECIPIENT, label: 'x'.repeat(65), chain: '' }] }), DEFAULT_POLICY), 'allowList[0].label', /64 characters/);
    expectFormError(() => policyFromForm(form({ allowList: [{ address: RECIPIENT, label: '', chain: 'mainnet' }] }), DEFAULT_POLICY), 'allowList[0].chain', /not a chain id/);
    expectFormError(() => policyFromForm(form({ allowList: [{ address: RECIPIENT, label: 'a', chain: '' }, { address: RECIPIENT.toLowerCase(), label: 'b', chain: '*' }] }), DEFAULT_POLICY), 'allowList[1].address', /twice/);
    expectFormError(() => policyFromForm(form({ delayHours: '0' }), DEFAULT_POLICY), 'delayHours', /from 1 to 2160/);
    expectFormError(() => policyFromForm(form({ delayHours: '1.5' }), DEFAULT_POLICY), 'delayHours', /whole hours/);
    expectFormError(() => policyFromForm(form({ recoveryHours: '23' }), DEFAULT_POLICY), 'recoveryHours', /from 24/);
    expectFormError(() => policyFromForm(form({ recoveryHours: '2161' }), DEFAULT_POLICY), 'recoveryHours', /2160/);
    expectFormError(() => policyFromForm(form({ messages: 'sometimes' }), DEFAULT_POLICY), 'messages', /Choose/);
  });

  it('refuses a malformed form from the popup before reading it', () => {
    const good = JSON.parse(JSON.stringify(form()));
    expect(parsePolicyForm(good)).toEqual(form());
    expectFormError(() => parsePolicyForm(null), 'form', /Malformed/);
    expectFormError(() => parsePolicyForm({ ...good, dailyEth: 'x' }), 'dailyEth', /Malformed/);
    expectFormError(() => parsePolicyForm({ ...good, allowList: [{ address: 5, label: '', chain: '' }] }), 'allowList[0].address', /Malformed/);
    expectFormError(() => parsePolicyForm({ ...good, delayHours: 24 }), 'delayHours', /Malformed/);
  });

  it('says whether a change tightens (applies at once) or loosens (the code and the delay)', () => {
    const withFriend = policyFromForm(form({ allowList: [{ address: RECIPIENT, label: '', chain: '' }] }), DEFAULT_POLICY);
    expect(changeKind(withFriend, DEFAULT_POLICY)).toBe('loosens');
    expect(changeKind(DEFAULT_POLICY, withFriend)).toBe('tightens');
    expect(changeKind(policyFromForm(form({ dailyEth: [{ chain: '*', eth: '2' }] }), DEFAULT_POLICY), DEFAULT_POLICY)).toBe('loosens');
    expect(changeKind(policyFromForm(form({ dailyEth: [{ chain: '*', eth: '0.5' }] }), DEFAULT_POLICY), DEFAULT_POLICY)).toBe('tightens');
    expect(changeKind(policyFromForm(form({ delayHours: '12' }), DEFAULT_POLICY), DEFAULT_POLICY)).toBe('loosens');
  });
});

describe('the policy in words', () => {
  it('says every rule, "*" as the other chains', () => {
    const words = describePolicy({ ...DEFAULT_POLICY, dailyNative: { '*': parseEther('1'), '1': parseEther('0.5') }, allowList: [{ address: RECIPIENT, chainId: null, label: 'Savings' }] });
    expect(words.daily).toBe('Daily limit per account: 0.5 ETH a day on Ethereum (chain 1), 1 ETH a day on each other chain (value and network fees, over any 24 hours)');
    expect(words.perTransaction).toBe('Per transaction: at most 1 ETH each on every chain');
    expect(words.allowList).toEqual([`Allowed: Savings — ${RECIPIENT} on every chain`]);
    expect(words.tokens[0]).toMatch(/no daily allowance/);
    expect(words.messages).toMatch(/without a code/);
    expect(words.delay).toBe('Above a limit: waits 24 hours, cancellable from any of your devices');
    expect(words.recovery).toBe('Recovery: the Guard helps only after a security period of 48 hours');
    expect(describePolicy(DEFAULT_POLICY).allowList).toEqual(['Allow-list: empty — every destination needs your code']);
  });

  it('lists what a change alters', () => {
    const next: Policy = { ...DEFAULT_POLICY, dailyNative: { '*': parseEther('5') } };
    expect(describePolicyChange(DEFAULT_POLICY, next)).toEqual([`now: ${policyLines(next)[0]}`, `no longer: ${policyLines(DEFAULT_POLICY)[0]}`]);
    expect(describePolicyChange(DEFAULT_POLICY, DEFAULT_POLICY)).toEqual([]);
  });
});

describe('the delayed queue in words', () => {
  it('says a transfer with its amount, recipient and network, and when it is ready', () => {
    const request = transactionRequest({ to: RECIPIENT, value: parseEther('1.5') });
    const words = describeQueueItem({ kind: 'request', detail: encodeSigningRequest(request), until: NOW + 86_400_000 }, { now: NOW, timeZone: 'UTC' });
    expect(words.title).toBe('Send ETH');
    expect(words.details).toContain(`To: ${RECIPIENT}`);
    expect(words.details.some((line) => line.startsWith('Amount: 1.5 '))).toBe(true);
    expect(words.details.some((line) => line.startsWith('Network: '))).toBe(true);
    expect(words.ready).toBe('Ready at 12:00 tomorrow');
  });

  it('says a policy change with what it changes; a damaged item is still listed', () => {
    const next: Policy = { ...DEFAULT_POLICY, delayHours: 12 };
    const words = describeQueueItem({ kind: 'policy', detail: encodePolicy(next), until: NOW }, { now: NOW, timeZone: 'UTC' }, DEFAULT_POLICY);
    expect(words.title).toBe('A change of your Guard rules');
    expect(words.details).toContain('now: Above a limit: waits 12 hours, cancellable from any of your devices');
    expect(describeQueueItem({ kind: 'request', detail: { junk: true }, until: NOW }, { now: NOW }).title).toBe('A signing request');
    expect(describeQueueItem({ kind: 'recovery', detail: { members: [1, 2, 3] }, until: NOW }, { now: NOW }).details).toEqual(['3 devices after it, the Guard dealing']);
  });
});
