/** Requests from the extension's own pages: strict parsing, sender check, and the answers pages get. */
import { describe, expect, it } from 'vitest';
import { handleUiRequest } from '../../src/background/ui-actions.ts';
import { isExtensionPage, parseUiRequest } from '../../src/background/ui-messages.ts';
import { createHarness, PASSWORD, setUpWallet } from './harness.ts';
import { chainNode } from './scripted-node.ts';

describe('parseUiRequest', () => {
  it('accepts each action with its fields', () => {
    expect(parseUiRequest({ action: 'unlock', password: 'x' })).toEqual({ action: 'unlock', password: 'x' });
    expect(parseUiRequest({ action: 'decide', id: 'a', approved: true, accounts: ['0x1'] })).toMatchObject({ action: 'decide' });
    expect(parseUiRequest({ action: 'add-account' })).toEqual({ action: 'add-account' });
  });

  it.each([
    [null, 'request'],
    [{ action: 'drain-funds' }, 'action'],
    [{ action: 'unlock' }, 'password'],
    [{ action: 'unlock', password: 1 }, 'password'],
    [{ action: 'unlock', password: 'x', extra: 1 }, 'extra'],
    [{ action: 'decide', id: 'a', approved: 'yes' }, 'approved'],
    [{ action: 'decide', id: 'a', approved: true, accounts: [1] }, 'accounts'],
    [{ action: 'switch-chain', chainId: Number.NaN }, 'chainId'],
    [{ action: 'guard-enrol', url: 'https://guard.example' }, 'code'],
    [{ action: 'guard-totp', code: 123456 }, 'code'],
    [{ action: 'guard-request-code', code: '123456' }, 'id'],
    [{ action: 'guard-policy-set', form: [] }, 'form'],
    [{ action: 'guard-policy-set', form: null }, 'form'],
    [{ action: 'guard-policy-set', form: {}, code: 123456 }, 'code'],
    [{ action: 'guard-queue-cancel' }, 'item'],
  ])('refuses %j naming %s', (raw, field) => {
    expect(() => parseUiRequest(raw)).toThrow(expect.objectContaining({ code: 'invalid_input', field }));
  });

  it('only the extension’s own pages count as UI senders', () => {
    const base = 'chrome-extension://abcdef/';
    expect(isExtensionPage('chrome-extension://abcdef/extension/popup/index.html', base)).toBe(true);
    expect(isExtensionPage('https://dapp.example/', base)).toBe(false);
    expect(isExtensionPage('chrome-extension://other/extension/popup/index.html', base)).toBe(false);
    expect(isExtensionPage(undefined, base)).toBe(false);
  });
});

describe('handleUiRequest', () => {
  it('answers with the fresh view, or a typed error and nothing changed', async () => {
    const h = await createHarness(chainNode(31337).fetch);
    await setUpWallet(h);
    await h.wallet.lock();
    expect(await handleUiRequest(h.wallet, { action: 'unlock', password: 'nope-nope' })).toEqual({ ok: false, error: 'Wrong password.', code: 'wrong_password', field: 'password' });
    expect(await handleUiRequest(h.wallet, { action: 'unlock' })).toMatchObject({ ok: false, code: 'invalid_input', field: 'password' });
    const unlocked = await handleUiRequest(h.wallet, { action: 'unlock', password: PASSWORD });
    expect(unlocked).toMatchObject({ ok: true, value: { unlocked: true, paired: true } });
    expect(await handleUiRequest(h.wallet, { action: 'balance' })).toEqual({ ok: true, value: '0xde0b6b3a7640000' });
    expect(await handleUiRequest(h.wallet, { action: 'switch-chain', chainId: 5 })).toMatchObject({ ok: false, code: '4902' });
    // The Duet Guard: this browser's link has no members' driver here (a test link): said, nothing changed.
    expect(await handleUiRequest(h.wallet, { action: 'guard-enrol', url: ' ', code: 'ABCD-EFGH-JKMN-PQRS' })).toEqual({ ok: false, error: 'Type the address the Guard printed.', code: 'invalid_input', field: 'url' });
    expect(await handleUiRequest(h.wallet, { action: 'guard-add' })).toEqual({ ok: false, error: 'Pair your phone first.', code: 'not_paired', field: null });
    expect(await handleUiRequest(h.wallet, { action: 'guard-request-code', id: 'no-such-request', code: '123456' })).toEqual({ ok: false, error: 'No such request waits for a code.', code: 'not_found', field: 'id' });
  });
});
