/**
 * Each pre-sign warning rule with fixtures: the case that must warn (with its exact text), and
 * the neighbouring cases that must not. The rules run on the request and the facts alone, so the
 * phone, given the same request, shows the same warnings.
 */
import { describe, expect, it } from 'vitest';
import { MaxUint256 } from 'ethers';
import { SELECTOR_ERC20_APPROVE, SELECTOR_ERC20_TRANSFER, SELECTOR_SET_APPROVAL_FOR_ALL, UNLIMITED_APPROVAL_WARNING, displayModel } from '../../src/wallet/decode.ts';
import type { PresignFacts } from '../../src/wallet/presign-facts.ts';
import {
  approvalToAccountWarning,
  chainMismatchWarning,
  ethToContractWarning,
  firstInteractionWarning,
  insufficientFundsWarning,
  presignWarnings,
  simulationWarning,
} from '../../src/wallet/presign-warnings.ts';
import { movedAmount } from '../../src/wallet/balance-change.ts';
import { reviewedDisplay } from '../../src/wallet/reviewed-display.ts';
import { decodeSigningRequest, encodeSigningRequest, type SigningRequest } from '../../src/wallet/signing-request.ts';
import { DEV_ADDRESS, MAIL_TYPED_DATA, SPENDER, TOKEN, calldata, personalSignRequest, transactionRequest, typedDataRequest } from './wallet-fixtures.ts';

const FRIEND = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
const HASH = `0x${'ab'.repeat(32)}`;

function facts(overrides: Partial<PresignFacts> = {}): PresignFacts {
  return { currentChainId: 31337, block: 12, balance: 10n ** 18n, simulation: { outcome: 'success' }, addresses: [], replaces: null, ...overrides };
}

const account = (address: string, contract: boolean, interacted = true) => ({ address, contract, interacted });
const approve = (spender: string, amount: bigint) => transactionRequest({ to: TOKEN, data: calldata(SELECTOR_ERC20_APPROVE, BigInt(spender), amount) });
const approveAll = (operator: string, approved: boolean) => transactionRequest({ to: TOKEN, data: calldata(SELECTOR_SET_APPROVAL_FOR_ALL, BigInt(operator), approved ? 1n : 0n) });

describe('the simulation failed', () => {
  it('a revert: "This transaction will fail: <reason>"', () => {
    expect(simulationWarning(transactionRequest(), facts({ simulation: { outcome: 'revert', reason: 'balance' } }))).toBe('This transaction will fail: balance');
  });

  it('a simulation that could not run says so, without claiming failure', () => {
    expect(simulationWarning(transactionRequest(), facts({ simulation: { outcome: 'unavailable', reason: 'method not found' } }))).toBe('Duet could not simulate this transaction (method not found). It may fail.');
  });

  it('success, or no simulation (messages), warns of nothing', () => {
    expect(simulationWarning(transactionRequest(), facts())).toBeNull();
    expect(simulationWarning(transactionRequest(), facts({ simulation: null }))).toBeNull();
    expect(simulationWarning(personalSignRequest('0x68'), facts({ simulation: { outcome: 'revert', reason: 'x' } }))).toBeNull();
  });
});

describe('the balance does not cover value + gas × max fee', () => {
  // gas 60,000 × 2 gwei = 0.00012 ETH
  it('one wei short warns, with the figures', () => {
    const request = transactionRequest({ value: 10n ** 18n });
    expect(insufficientFundsWarning(request, facts({ balance: 10n ** 18n + 120_000_000_000_000n - 1n }))).toBe(
      'This transaction will fail: the balance of 1.000119999999999999 ETH does not cover 1.0 ETH plus the maximum network fee of 0.00012 ETH.',
    );
  });

  it('exactly enough, or an unknown balance, does not', () => {
    const request = transactionRequest({ value: 10n ** 18n });
    expect(insufficientFundsWarning(request, facts({ balance: 10n ** 18n + 120_000_000_000_000n }))).toBeNull();
    expect(insufficientFundsWarning(request, facts({ balance: null }))).toBeNull();
  });
});

describe('approval to an address that is not a contract', () => {
  it('ERC-20 approve to a plain account warns', () => {
    expect(approvalToAccountWarning(approve(FRIEND, 5n), facts({ addresses: [account(FRIEND, false)] }))).toBe(
      `${FRIEND} is not a contract. Approvals are normally given to contracts (an exchange, a marketplace); an approval to a plain account lets its owner take your tokens — a common scam.`,
    );
  });

  it('setApprovalForAll(true) to a plain account warns about items', () => {
    expect(approvalToAccountWarning(approveAll(FRIEND, true), facts({ addresses: [account(FRIEND, false)] }))).toContain('take your items');
  });

  it('to a contract, a zero allowance, setApprovalForAll(false), or an unchecked spender: no warning', () => {
    expect(approvalToAccountWarning(approve(FRIEND, 5n), facts({ addresses: [account(FRIEND, true)] }))).toBeNull();
    expect(approvalToAccountWarning(approve(FRIEND, 0n), facts({ addresses: [account(FRIEND, false)] }))).toBeNull();
    expect(approvalToAccountWarning(approveAll(FRIEND, false), facts({ addresses: [account(FRIEND, false)] }))).toBeNull();
    expect(approvalToAccountWarning(approve(FRIEND, 5n), facts())).toBeNull();
  });

  it('reads the spender from the calldata, not from the facts: a fact about another address changes nothing', () => {
    expect(approvalToAccountWarning(approve(FRIEND, 5n), facts({ addresses: [account(SPENDER, false), account(FRIEND, true)] }))).toBeNull();
  });
});

describe('a plain ETH transfer to a contract', () => {
  it('warns', () => {
    expect(ethToContractWarning(transactionRequest({ to: TOKEN, value: 1n }), facts({ addresses: [account(TOKEN, true)] }))).toBe(
      `${TOKEN} is a contract, and this sends it ETH without calling it. Many contracts (tokens among them) keep what is sent this way for good. Check that this is the address you meant.`,
    );
  });

  it('to an account, with call data, or with no value: no warning', () => {
    expect(ethToContractWarning(transactionRequest({ to: FRIEND, value: 1n }), facts({ addresses: [account(FRIEND, false)] }))).toBeNull();
    expect(ethToContractWarning(transactionRequest({ to: TOKEN, value: 1n, data: '0x12345678' }), facts({ addresses: [account(TOKEN, true)] }))).toBeNull();
    expect(ethToContractWarning(transactionRequest({ to: TOKEN, value: 0n }), facts({ addresses: [account(TOKEN, true)] }))).toBeNull();
  });
});

describe('a chain in typed data that differs from the current network', () => {
  it('typed data for mainnet while Duet is on the local chain warns', () => {
    expect(chainMismatchWarning(typedDataRequest(MAIL_TYPED_DATA, 1), facts())).toBe('This signature is for Ethereum (chain 1), but Duet is on Local (anvil) (chain 31337) now.');
  });

  it('a transaction for another chain than the current one warns too', () => {
    expect(chainMismatchWarning(transactionRequest(), facts({ currentChainId: 1 }))).toBe('This transaction is for Local (anvil) (chain 31337), but Duet is on Ethereum (chain 1) now.');
  });

  it('the same chain, typed data without a chain id, or a message: no warning', () => {
    expect(chainMismatchWarning(typedDataRequest(MAIL_TYPED_DATA, 1), facts({ currentChainId: 1 }))).toBeNull();
    const chainless = { ...MAIL_TYPED_DATA, types: { ...MAIL_TYPED_DATA.types, EIP712Domain: MAIL_TYPED_DATA.types.EIP712Domain.filter((f) => f.name !== 'chainId') }, domain: { name: 'Ether Mail', version: '1', verifyingContract: MAIL_TYPED_DATA.domain.verifyingContract } };
    expect(chainMismatchWarning(typedDataRequest(chainless, 1), facts())).toBeNull();
    expect(chainMismatchWarning({ ...personalSignRequest('0x68'), chainId: 1 }, facts())).toBeNull();
  });
});

describe('a first interaction with an address', () => {
  it('ETH to a recipient this account never dealt with warns', () => {
    expect(firstInteractionWarning(transactionRequest({ to: FRIEND, value: 1n }), facts({ addresses: [account(FRIEND, false, false)] }))).toBe(
      `First interaction with ${FRIEND}: this account has no earlier transaction with it in Duet's activity. Check the address.`,
    );
  });

  it('for a token transfer the recipient counts, not the token contract', () => {
    const transfer = transactionRequest({ to: TOKEN, data: calldata(SELECTOR_ERC20_TRANSFER, BigInt(FRIEND), 5n) });
    expect(firstInteractionWarning(transfer, facts({ addresses: [account(TOKEN, true, false), account(FRIEND, false, true)] }))).toBeNull();
    expect(firstInteractionWarning(transfer, facts({ addresses: [account(TOKEN, true, true), account(FRIEND, false, false)] }))).toContain(`First interaction with ${FRIEND}`);
  });

  it('a known address, a send to itself, a replacement, or no fact: no warning', () => {
    expect(firstInteractionWarning(transactionRequest({ to: FRIEND }), facts({ addresses: [account(FRIEND, false, true)] }))).toBeNull();
    expect(firstInteractionWarning(transactionRequest({ to: DEV_ADDRESS }), facts({ addresses: [account(DEV_ADDRESS, false, false)] }))).toBeNull();
    expect(firstInteractionWarning(transactionRequest({ to: FRIEND }), facts({ addresses: [account(FRIEND, false, false)], replaces: { action: 'speed-up', hash: HASH } }))).toBeNull();
    expect(firstInteractionWarning(transactionRequest({ to: FRIEND }), facts())).toBeNull();
  });
});

describe('on both screens', () => {
  it('the warnings come with the request: after the wire (what the phone decodes), the same list, failure first, unlimited approval kept', () => {
    const request: SigningRequest = { ...approve(FRIEND, MaxUint256), facts: facts({ simulation: { outcome: 'revert', reason: 'paused' }, addresses: [account(FRIEND, false, false)] }) };
    const onPhone = decodeSigningRequest(JSON.parse(JSON.stringify(encodeSigningRequest(request))));
    const model = reviewedDisplay(displayModel(onPhone), onPhone);
    expect(model.warnings).toEqual([
      'This transaction will fail: paused',
      `${FRIEND} is not a contract. Approvals are normally given to contracts (an exchange, a marketplace); an approval to a plain account lets its owner take your tokens — a common scam.`,
      `First interaction with ${FRIEND}: this account has no earlier transaction with it in Duet's activity. Check the address.`,
      UNLIMITED_APPROVAL_WARNING,
    ]);
    expect(presignWarnings(onPhone)).toEqual(presignWarnings(request));
  });

  it('without facts there are no pre-sign warnings (nothing was observed)', () => {
    expect(presignWarnings(approve(FRIEND, 5n))).toEqual([]);
  });

  it("the review rows: simulation, balance change in token units (the request's token details), then the decoded fields", () => {
    const transfer: SigningRequest = {
      ...transactionRequest({ to: TOKEN, data: calldata(SELECTOR_ERC20_TRANSFER, BigInt(FRIEND), 1_500_000n) }),
      tokens: [{ address: TOKEN, standard: 'erc20', symbol: 'USDC', decimals: 6 }],
      facts: facts(),
    };
    const model = reviewedDisplay(displayModel(transfer), transfer);
    expect(model.fields.slice(0, 3).map((f) => [f.label, f.value])).toEqual([
      ['Simulation', 'succeeds on block 12'],
      ['Balance change: ETH', 'only the network fee, at most 0.00012 ETH'],
      ['Balance change: USDC token', '−1.5 USDC'],
    ]);
    expect(model.fields[3]?.label).toBe('Network');
    expect(movedAmount(transfer)).toBe('1.5 USDC');
    expect(movedAmount({ ...transfer, tokens: undefined } as SigningRequest & { kind: 'transaction' })).toBe('1500000 raw units');
    expect(movedAmount(transactionRequest({ value: 10n ** 18n }))).toBe('1.0 ETH');
    expect(movedAmount(approve(FRIEND, 5n))).toBeNull();
  });

  it('a speed-up and a cancel are titled as such and name the transaction they replace', () => {
    const speedUp: SigningRequest = { ...transactionRequest({ value: 1n }), facts: facts({ replaces: { action: 'speed-up', hash: HASH } }) };
    expect(reviewedDisplay(displayModel(speedUp), speedUp).title).toBe('Speed up: Send ETH');
    const cancel: SigningRequest = { ...transactionRequest({ to: DEV_ADDRESS }), facts: facts({ replaces: { action: 'cancel', hash: HASH } }) };
    const model = reviewedDisplay(displayModel(cancel), cancel);
    expect(model.title).toBe('Cancel a pending transaction');
    expect(model.fields[0]).toEqual({ label: 'Replaces', value: `your pending transaction ${HASH} (nonce 1); whichever is mined first, the other is dropped` });
  });
});
