/**
 * The Guard's pure policy: the policy language's decoder, tightening vs loosening, what a request
 * does (decoded by the Guard itself), the decision with its reasons, and how devices word them.
 */
import { describe, expect, it } from 'vitest';
import { parseEther } from 'ethers';
import { describeReason, describeTime, type DecisionReason } from '../../src/guard/decision-reasons.ts';
import { DEFAULT_POLICY, PolicyError, decodePolicy, encodePolicy, isAtLeastAsStrict, strictest, type Policy } from '../../src/guard/policy.ts';
import { chargedScopes, decide, nativeScope, tokenScope, type DecisionContext } from '../../src/guard/policy-decision.ts';
import { requestEffect } from '../../src/guard/request-effect.ts';
import { SELECTOR_ERC20_APPROVE, SELECTOR_ERC20_TRANSFER, SELECTOR_ERC20_TRANSFER_FROM, SELECTOR_SET_APPROVAL_FOR_ALL } from '../../src/wallet/decode.ts';
import { DEV_ADDRESS, SPENDER, TOKEN, calldata, personalSignRequest, transactionRequest, typedDataRequest, MAIL_TYPED_DATA } from '../wallet/wallet-fixtures.ts';

const OTHER = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
const word = (address: string) => BigInt(address);
const MAX = (1n << 256n) - 1n;
const FEE = 60_000n * 2_000_000_000n;
const plain = (context: Partial<DecisionContext> = {}): DecisionContext => ({ secondFactor: false, delayEnded: null, ...context });

function policy(change: Partial<Policy> = {}): Policy {
  return { ...DEFAULT_POLICY, allowList: [{ address: SPENDER, chainId: null, label: 'Friend' }], dailyToken: [{ chainId: 31337, token: TOKEN, limit: 1000n }], ...change };
}

function expectPolicyError(value: unknown, field: string): void {
  let caught: unknown;
  try {
    decodePolicy(value);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PolicyError);
  expect((caught as PolicyError).field).toBe(field);
}

describe('the policy language', () => {
  it('round-trips through its JSON form', () => {
    const original = policy({ dailyNative: { '*': 10n, '1': 5n }, messages: 'second_factor', delayHours: 30 });
    expect(decodePolicy(JSON.parse(JSON.stringify(encodePolicy(original))))).toEqual(original);
  });

  it.each([
    ['a missing default chain', (json: any) => delete json.dailyNative['*'], 'policy.dailyNative.*'],
    ['a chain id that is not a number', (json: any) => (json.perTransaction.mainnet = '1'), 'policy.perTransaction.mainnet'],
    ['a negative amount', (json: any) => (json.dailyNative['*'] = '-1'), 'policy.dailyNative.*'],
    ['an amount above uint256', (json: any) => (json.dailyNative['*'] = (MAX + 1n).toString()), 'policy.dailyNative.*'],
    ['an amount as a number', (json: any) => (json.dailyNative['*'] = 1), 'policy.dailyNative.*'],
    ['a bad allow-list address', (json: any) => (json.allowList[0].address = '0x1234'), 'policy.allowList[0].address'],
    ['a token listed twice', (json: any) => json.dailyToken.push(json.dailyToken[0]), 'policy.dailyToken'],
    ['a delay under an hour', (json: any) => (json.delayHours = 0), 'policy.delayHours'],
    ['a recovery period under a day', (json: any) => (json.recoveryHours = 23), 'policy.recoveryHours'],
    ['an unknown message rule', (json: any) => (json.messages = 'never'), 'policy.messages'],
    ['an extra key', (json: any) => (json.unlimited = true), 'policy.unlimited'],
    ['another version', (json: any) => (json.version = 2), 'policy.version'],
  ])('refuses %s, naming the field', (_name, change, field) => {
    const json = JSON.parse(JSON.stringify(encodePolicy(policy())));
    change(json);
    expectPolicyError(json, field);
  });

  it('tightening: lower limits, fewer destinations, longer delays; anything else loosens', () => {
    const current = policy();
    expect(isAtLeastAsStrict(current, current)).toBe(true);
    expect(isAtLeastAsStrict(policy({ dailyNative: { '*': 1n } }), current)).toBe(true);
    expect(isAtLeastAsStrict(policy({ allowList: [] }), current)).toBe(true);
    expect(isAtLeastAsStrict(policy({ delayHours: 48, messages: 'second_factor' }), current)).toBe(true);
    expect(isAtLeastAsStrict(policy({ dailyNative: { '*': parseEther('2') } }), current)).toBe(false);
    // A chain listed on its own above the default is looser than the default alone.
    expect(isAtLeastAsStrict(policy({ dailyNative: { '*': parseEther('1'), '1': parseEther('3') } }), current)).toBe(false);
    expect(isAtLeastAsStrict(policy({ allowList: [{ address: OTHER, chainId: 1, label: '' }] }), current)).toBe(false);
    expect(isAtLeastAsStrict(policy({ dailyToken: [{ chainId: 31337, token: TOKEN, limit: 1001n }] }), current)).toBe(false);
    expect(isAtLeastAsStrict(policy({ dailyToken: [...policy().dailyToken, { chainId: 1, token: TOKEN, limit: 1n }] }), current)).toBe(false);
    expect(isAtLeastAsStrict(policy({ delayHours: 2 }), current)).toBe(false);
    expect(isAtLeastAsStrict(policy({ recoveryHours: 24 }), current)).toBe(false);
  });

  it('the strictest of two policies allows only what both allow', () => {
    const a = policy({ dailyNative: { '*': 10n, '1': 3n }, allowList: [{ address: SPENDER, chainId: null, label: 'Friend' }, { address: OTHER, chainId: 1, label: '' }] });
    const b = policy({ dailyNative: { '*': 5n }, allowList: [{ address: SPENDER, chainId: 31337, label: '' }], delayHours: 40 });
    const both = strictest(a, b);
    expect(both.dailyNative).toEqual({ '*': 5n, '1': 3n });
    expect(both.allowList).toEqual([{ address: SPENDER, chainId: 31337, label: 'Friend' }]);
    expect(both.delayHours).toBe(40);
    expect(isAtLeastAsStrict(both, a) && isAtLeastAsStrict(both, b)).toBe(true);
  });
});

describe('what a request does', () => {
  it('an ETH transfer spends its value plus the max fee, to its recipient', () => {
    const effect = requestEffect(transactionRequest({ value: 5n }));
    expect(effect).toMatchObject({ kind: 'transaction', native: 5n + FEE, tokens: [], destinations: [{ address: SPENDER, role: 'recipient' }], unlimited: [], deploy: false });
    expect(chargedScopes(effect)).toEqual([nativeScope(31337, 0)]);
  });

  it('ERC-20 transfer, approve, unlimited approve, removal, transferFrom, setApprovalForAll, other calls, deployment', () => {
    const on = (data: string) => requestEffect(transactionRequest({ to: TOKEN, data }));
    expect(on(calldata(SELECTOR_ERC20_TRANSFER, word(OTHER), 7n))).toMatchObject({ tokens: [{ token: TOKEN, amount: 7n }], destinations: [{ address: OTHER, role: 'recipient' }] });
    expect(on(calldata(SELECTOR_ERC20_APPROVE, word(OTHER), 9n))).toMatchObject({ tokens: [{ token: TOKEN, amount: 9n }], destinations: [{ address: OTHER, role: 'spender' }], unlimited: [] });
    expect(on(calldata(SELECTOR_ERC20_APPROVE, word(OTHER), MAX))).toMatchObject({ tokens: [], unlimited: [{ address: OTHER, role: 'spender' }] });
    expect(on(calldata(SELECTOR_ERC20_APPROVE, word(OTHER), 0n))).toMatchObject({ tokens: [], destinations: [], unlimited: [] });
    expect(on(calldata(SELECTOR_ERC20_TRANSFER_FROM, word(DEV_ADDRESS), word(OTHER), 4n))).toMatchObject({ tokens: [{ token: TOKEN, amount: 4n }], destinations: [{ address: OTHER }] });
    expect(on(calldata(SELECTOR_ERC20_TRANSFER_FROM, word(SPENDER), word(OTHER), 4n))).toMatchObject({ tokens: [], destinations: [{ address: OTHER }] });
    expect(on(calldata(SELECTOR_SET_APPROVAL_FOR_ALL, word(OTHER), 1n))).toMatchObject({ unlimited: [{ address: OTHER, role: 'operator' }] });
    expect(on('0xdeadbeef')).toMatchObject({ tokens: [], destinations: [{ address: TOKEN, role: 'contract' }] });
    expect(requestEffect(transactionRequest({ to: null, data: '0x6000' }))).toMatchObject({ deploy: true, destinations: [] });
  });

  it('permits are approvals; other typed data and personal_sign are messages', () => {
    const permit = (primaryType: string, types: Record<string, { name: string; type: string }[]>, message: Record<string, unknown>) =>
      requestEffect(
        typedDataRequest(
          { types: { EIP712Domain: [{ name: 'name', type: 'string' }, { name: 'chainId', type: 'uint256' }, { name: 'verifyingContract', type: 'address' }], ...types }, primaryType, domain: { name: 'Token', chainId: 31337, verifyingContract: TOKEN }, message },
          31337,
        ),
      );
    const eip2612 = { Permit: [{ name: 'owner', type: 'address' }, { name: 'spender', type: 'address' }, { name: 'value', type: 'uint256' }, { name: 'nonce', type: 'uint256' }, { name: 'deadline', type: 'uint256' }] };
    expect(permit('Permit', eip2612, { owner: DEV_ADDRESS, spender: OTHER, value: '12', nonce: '0', deadline: '1' })).toMatchObject({ kind: 'permit', tokens: [{ token: TOKEN, amount: 12n }], destinations: [{ address: OTHER, role: 'spender' }] });
    expect(permit('Permit', eip2612, { owner: DEV_ADDRESS, spender: OTHER, value: MAX.toString(), nonce: '0', deadline: '1' })).toMatchObject({ unlimited: [{ address: OTHER }] });
    const dai = { Permit: [{ name: 'holder', type: 'address' }, { name: 'spender', type: 'address' }, { name: 'nonce', type: 'uint256' }, { name: 'expiry', type: 'uint256' }, { name: 'allowed', type: 'bool' }] };
    expect(permit('Permit', dai, { holder: DEV_ADDRESS, spender: OTHER, nonce: '0', expiry: '1', allowed: true })).toMatchObject({ unlimited: [{ address: OTHER }] });
    const permit2 = {
      PermitSingle: [{ name: 'details', type: 'PermitDetails' }, { name: 'spender', type: 'address' }, { name: 'sigDeadline', type: 'uint256' }],
      PermitDetails: [{ name: 'token', type: 'address' }, { name: 'amount', type: 'uint160' }, { name: 'expiration', type: 'uint48' }, { name: 'nonce', type: 'uint48' }],
    };
    expect(permit('PermitSingle', permit2, { details: { token: OTHER, amount: '5', expiration: '1', nonce: '0' }, spender: SPENDER, sigDeadline: '1' })).toMatchObject({ tokens: [{ token: OTHER, amount: 5n }], destinations: [{ address: SPENDER }] });
    expect(requestEffect(typedDataRequest(MAIL_TYPED_DATA))).toMatchObject({ kind: 'message', tokens: [], destinations: [] });
    expect(requestEffect(personalSignRequest('0x6869'))).toMatchObject({ kind: 'message', native: 0n });
  });
});

describe('the decision', () => {
  const send = (value: bigint, to = SPENDER) => requestEffect(transactionRequest({ value, to }));
  const spentNative = (value: bigint) => new Map([[nativeScope(31337, 0), value]]);

  it('within the limit to an allow-listed destination: sign, with what is left and the charge', () => {
    const outcome = decide(policy(), send(parseEther('0.5')), spentNative(parseEther('0.2')), plain());
    expect(outcome.verdict).toBe('sign');
    expect(outcome.reasons[0]).toEqual({ code: 'within_limit', chainId: 31337, account: 0, limit: parseEther('1').toString(), spent: parseEther('0.2').toString(), amount: (parseEther('0.5') + FEE).toString() });
    expect(outcome.charges).toEqual([{ scope: nativeScope(31337, 0), amount: parseEther('0.5') + FEE }]);
  });

  it('above the daily limit, or the per-transaction cap: delay; once the delay ended: sign', () => {
    expect(decide(policy(), send(parseEther('0.5')), spentNative(parseEther('0.6')), plain()).verdict).toBe('delay');
    const capped = decide(policy({ perTransaction: { '*': parseEther('0.1') } }), send(parseEther('0.5')), new Map(), plain());
    expect(capped.verdict).toBe('delay');
    expect(capped.reasons.map((reason) => reason.code)).toContain('over_transaction_cap');
    // A code does not lift a limit.
    expect(decide(policy(), send(parseEther('2')), new Map(), plain({ secondFactor: true })).verdict).toBe('delay');
    expect(decide(policy(), send(parseEther('2')), new Map(), plain({ delayEnded: { queuedAt: 5 } })).verdict).toBe('sign');
  });

  it('a destination not on the allow-list needs the code; with it: sign', () => {
    const outcome = decide(policy(), send(1n, OTHER), new Map(), plain());
    expect(outcome.verdict).toBe('second_factor');
    expect(outcome.reasons).toContainEqual({ code: 'destination_not_allowed', address: OTHER, role: 'recipient' });
    expect(decide(policy(), send(1n, OTHER), new Map(), plain({ secondFactor: true })).verdict).toBe('sign');
  });

  it('tokens: within and above their own limit; a token with no limit waits', () => {
    const transfer = (token: string, amount: bigint) => requestEffect(transactionRequest({ to: token, data: calldata(SELECTOR_ERC20_TRANSFER, word(SPENDER), amount) }));
    expect(decide(policy(), transfer(TOKEN, 600n), new Map([[tokenScope(31337, TOKEN, 0), 400n]]), plain()).verdict).toBe('sign');
    expect(decide(policy(), transfer(TOKEN, 601n), new Map([[tokenScope(31337, TOKEN, 0), 400n]]), plain()).verdict).toBe('delay');
    const unlisted = decide(policy(), transfer(OTHER, 1n), new Map(), plain());
    expect(unlisted.verdict).toBe('delay');
    expect(unlisted.reasons).toContainEqual(expect.objectContaining({ code: 'over_daily_limit', token: OTHER, limit: '0' }));
  });

  it('an unlimited approval is refused unless the spender is allow-listed, whatever else', () => {
    const approve = (spender: string) => requestEffect(transactionRequest({ to: TOKEN, data: calldata(SELECTOR_ERC20_APPROVE, word(spender), MAX) }));
    const refused = decide(policy(), approve(OTHER), new Map(), plain({ secondFactor: true, delayEnded: { queuedAt: 1 } }));
    expect(refused).toEqual({ verdict: 'refuse', reasons: [{ code: 'unlimited_approval_refused', address: OTHER, role: 'spender' }], charges: [] });
    expect(decide(policy(), approve(SPENDER), new Map(), plain()).verdict).toBe('sign');
  });

  it('messages sign by default, or need the code when the policy says so', () => {
    expect(decide(policy(), requestEffect(personalSignRequest('0x6869')), new Map(), plain())).toEqual({ verdict: 'sign', reasons: [], charges: [] });
    expect(decide(policy({ messages: 'second_factor' }), requestEffect(personalSignRequest('0x6869')), new Map(), plain()).verdict).toBe('second_factor');
  });
});

describe('how devices word the reasons', () => {
  const options = { now: Date.UTC(2026, 11, 3, 16, 0), timeZone: 'UTC' };

  it('the sentences of the issue', () => {
    const within: DecisionReason = { code: 'within_limit', chainId: 1, account: 0, limit: parseEther('1').toString(), spent: parseEther('0.5').toString(), amount: parseEther('0.2').toString() };
    expect(describeReason(within, options)).toBe("Within today's limit: 0.3 ETH of 1 ETH left");
    expect(describeReason({ code: 'delayed_until', until: Date.UTC(2026, 11, 4, 14, 5) }, options)).toBe('Waiting until 14:05 tomorrow');
    expect(describeReason({ code: 'destination_not_allowed', address: OTHER, role: 'recipient' }, options)).toBe('Destination not on your allow-list — enter your code (0x3C44C…93BC)');
  });

  it('times in the user\'s own zone', () => {
    expect(describeTime(Date.UTC(2026, 11, 3, 23, 30), { ...options, timeZone: 'Europe/Berlin' })).toBe('00:30 tomorrow');
    expect(describeTime(Date.UTC(2026, 11, 7, 9, 0), options)).toBe('09:00 on Mon 7 Dec');
  });
});
