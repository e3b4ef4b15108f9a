/**
 * The facts travel to the phone inside the signing request: strict decoding (each bad value is a
 * typed error naming its field), texts from contracts made safe to show, the digest unchanged and
 * the short code covering them; revert reasons and token calls read as both devices read them.
 */
import { describe, expect, it } from 'vitest';
import { AbiCoder, hexlify } from 'ethers';
import { SELECTOR_ERC20_APPROVE, SELECTOR_ERC20_TRANSFER, SELECTOR_ERC20_TRANSFER_FROM, SELECTOR_SET_APPROVAL_FOR_ALL } from '../../src/wallet/decode.ts';
import { MAX_REASON_CHARS, decodePresignFacts, encodePresignFacts, safeDisplayText, type PresignFacts } from '../../src/wallet/presign-facts.ts';
import { revertReason } from '../../src/wallet/revert-reason.ts';
import { WALLET_ORIGIN, decodeSigningRequest, encodeSigningRequest, shortCode, signingDigest } from '../../src/wallet/signing-request.ts';
import { counterparty, encodeTokenTransfer, readTokenCall } from '../../src/wallet/token-call.ts';
import { DEV_ADDRESS, SPENDER, TOKEN, calldata, expectWalletError, transactionRequest, withChange } from './wallet-fixtures.ts';

const FACTS: PresignFacts = {
  currentChainId: 31337,
  block: 7,
  balance: 10n ** 18n,
  simulation: { outcome: 'revert', reason: 'balance' },
  addresses: [{ address: SPENDER, contract: false, interacted: false }],
  replaces: { action: 'speed-up', hash: `0x${'cd'.repeat(32)}` },
};
const wire = () => encodePresignFacts(FACTS);

describe('facts on the wire', () => {
  it('round-trip exactly', () => {
    expect(decodePresignFacts(JSON.parse(JSON.stringify(wire())))).toEqual(FACTS);
  });

  it.each([
    ['a missing key', (f: Record<string, any>) => delete f.block, 'facts.block'],
    ['an extra key', (f: Record<string, any>) => (f.verified = true), 'facts.verified'],
    ['chain 0', (f: Record<string, any>) => (f.currentChainId = 0), 'facts.currentChainId'],
    ['a non-minimal balance', (f: Record<string, any>) => (f.balance = '0x01'), 'facts.balance'],
    ['an unknown outcome', (f: Record<string, any>) => (f.simulation = { outcome: 'fine' }), 'facts.simulation.outcome'],
    ['a success with a reason', (f: Record<string, any>) => (f.simulation = { outcome: 'success', reason: 'x' }), 'facts.simulation.reason'],
    ['a reason with a bidirectional override', (f: Record<string, any>) => (f.simulation.reason = 'ok\u202egnp.exe'), 'facts.simulation.reason'],
    ['an empty reason', (f: Record<string, any>) => (f.simulation.reason = ''), 'facts.simulation.reason'],
    ['a reason too long', (f: Record<string, any>) => (f.simulation.reason = 'x'.repeat(MAX_REASON_CHARS + 1)), 'facts.simulation.reason'],
    ['a lowercase address', (f: Record<string, any>) => (f.addresses[0].address = SPENDER.toLowerCase()), 'facts.addresses[0].address'],
    ['contract as a string', (f: Record<string, any>) => (f.addresses[0].contract = 'false'), 'facts.addresses[0].contract'],
    ['nine addresses', (f: Record<string, any>) => (f.addresses = Array(9).fill(f.addresses[0])), 'facts.addresses'],
    ['token details (they are the request\'s tokens)', (f: Record<string, any>) => (f.tokens = []), 'facts.tokens'],
    ['an unknown replacement', (f: Record<string, any>) => (f.replaces.action = 'drop'), 'facts.replaces.action'],
    ['an uppercase hash', (f: Record<string, any>) => (f.replaces.hash = `0x${'CD'.repeat(32)}`), 'facts.replaces.hash'],
  ])('refuses %s, naming the field', (_name, change, field) => {
    expectWalletError(() => decodePresignFacts(withChange(wire(), change)), 'bad_request', field);
  });

  it('inside a signing request: decoded as request.facts; the digest ignores them, the short code does not', () => {
    const plain = transactionRequest();
    const withFacts = { ...plain, facts: FACTS };
    const decoded = decodeSigningRequest(JSON.parse(JSON.stringify(encodeSigningRequest(withFacts))));
    expect(decoded.facts).toEqual(FACTS);
    expect(hexlify(signingDigest(withFacts))).toBe(hexlify(signingDigest(plain)));
    expect(shortCode(withFacts)).not.toBe(shortCode(plain));
    expectWalletError(() => decodeSigningRequest(withChange(encodeSigningRequest(withFacts), (r) => (r.facts.block = -1))), 'bad_request', 'request.facts.block');
  });

  it("accepts Duet's own origin for what the popup starts, and still no other non-web origin", () => {
    expect(decodeSigningRequest(encodeSigningRequest({ ...transactionRequest(), origin: WALLET_ORIGIN })).origin).toBe(WALLET_ORIGIN);
    expectWalletError(() => decodeSigningRequest(withChange(encodeSigningRequest(transactionRequest()), (r) => (r.origin = 'chrome-extension://abc'))), 'bad_request', 'request.origin');
  });
});

describe('texts from contracts', () => {
  it('control and format characters become U+FFFD, whitespace one space, long texts are cut', () => {
    expect(safeDisplayText('a\u202eb\u200bc\n\nd\u0000', 20)).toBe('a\uFFFDb\uFFFDc d\uFFFD');
    expect(safeDisplayText('abcdef', 4)).toBe('abc…');
  });
});

describe('revert reasons', () => {
  const coder = AbiCoder.defaultAbiCoder();
  it('Error(string): the string', () => {
    expect(revertReason(`0x08c379a0${coder.encode(['string'], ['balance']).slice(2)}`, 'execution reverted')).toBe('balance');
  });
  it('Panic(uint256): the code and its meaning', () => {
    expect(revertReason(`0x4e487b71${coder.encode(['uint256'], [0x11]).slice(2)}`, 'execution reverted')).toBe('panic 0x11 (arithmetic overflow or underflow)');
  });
  it('a custom error by its selector; no data: no reason given; nested data is read too', () => {
    expect(revertReason('0xdeadbeef00', 'execution reverted')).toBe('custom error 0xdeadbeef');
    expect(revertReason('0x', 'execution reverted')).toBe('the contract reverted without giving a reason');
    expect(revertReason({ data: `0x08c379a0${coder.encode(['string'], ['paused']).slice(2)}` }, 'x')).toBe('paused');
  });
  it("without data, the node's message (without its prefix); a hostile string is made safe", () => {
    expect(revertReason(undefined, 'execution reverted: balance')).toBe('balance');
    expect(revertReason(undefined, 'insufficient funds for gas * price + value')).toBe('insufficient funds for gas * price + value');
    expect(revertReason(`0x08c379a0${coder.encode(['string'], ['safe\u202e'.padEnd(500, 'x')]).slice(2)}`, '')).toHaveLength(MAX_REASON_CHARS);
  });
});

describe('token calls', () => {
  it('reads transfer, approve, transferFrom and setApprovalForAll; names the counterparty', () => {
    expect(readTokenCall(calldata(SELECTOR_ERC20_TRANSFER, BigInt(SPENDER), 5n))).toEqual({ kind: 'transfer', to: SPENDER, amount: 5n });
    expect(readTokenCall(calldata(SELECTOR_ERC20_APPROVE, BigInt(SPENDER), 5n))).toEqual({ kind: 'approve', spender: SPENDER, amount: 5n });
    expect(readTokenCall(calldata(SELECTOR_ERC20_TRANSFER_FROM, BigInt(DEV_ADDRESS), BigInt(SPENDER), 5n))).toEqual({ kind: 'transferFrom', from: DEV_ADDRESS, to: SPENDER, amount: 5n });
    expect(readTokenCall(calldata(SELECTOR_SET_APPROVAL_FOR_ALL, BigInt(SPENDER), 1n))).toEqual({ kind: 'setApprovalForAll', operator: SPENDER, approved: true });
    expect(counterparty(transactionRequest({ to: TOKEN, data: encodeTokenTransfer(SPENDER, 5n) }))).toBe(SPENDER);
    expect(counterparty(transactionRequest({ to: TOKEN, data: '0x12345678' }))).toBe(TOKEN);
  });

  it('refuses anything but the exact encoding: an extra byte, dirty address padding, a bool of 2', () => {
    expect(readTokenCall(`${calldata(SELECTOR_ERC20_TRANSFER, BigInt(SPENDER), 5n)}00`)).toBeNull();
    expect(readTokenCall(calldata(SELECTOR_ERC20_TRANSFER, (1n << 200n) + BigInt(SPENDER), 5n))).toBeNull();
    expect(readTokenCall(calldata(SELECTOR_SET_APPROVAL_FOR_ALL, BigInt(SPENDER), 2n))).toBeNull();
  });
});
