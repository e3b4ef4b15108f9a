/**
 * The phone's vault key (issue 11, point 4), through the real PhoneController on fake-indexeddb:
 * the screen lock (WebAuthn PRF, here a software authenticator) first, otherwise a passphrase of
 * ≥ 60 estimated bits — a 6-digit PIN is refused — with backoff after wrong tries, and an old PIN
 * vault opened once and re-keyed before anything else.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { PHONE_VAULT, type PhoneController } from '../../src/phone/phone-controller.ts';
import { GENERATED_WORDS } from '../../src/phone/passphrase.ts';
import { LangEn } from 'ethers';
import { createVault, readVaultKdf, unlockVault } from '../../src/vault/vault.ts';
import { FAST_KEYS, TEST_PASSPHRASE, freshPhone, openPhone, rawVault } from './phone-support.ts';
import { SoftwareDeviceKey } from './software-device-key.ts';

const passphrase = (text: string) => ({ kind: 'passphrase', passphrase: text, confirmation: text }) as const;
const OLD_PIN = '246810';

async function lockedAgain(phone: PhoneController, options: Parameters<typeof openPhone>[0] = {}): Promise<PhoneController> {
  phone.lock();
  return openPhone(options);
}

describe('the screen lock (WebAuthn PRF)', () => {
  it('is offered first; the vault opens only with the same authenticator, after it verified the user', async () => {
    const deviceKey = new SoftwareDeviceKey();
    let phone = await freshPhone({ deviceKey });
    expect(phone.view()).toMatchObject({ screen: 'create-key', deviceKeyAvailable: true });
    await phone.chooseKey({ kind: 'device' });
    expect(phone.view()).toMatchObject({ screen: 'home', error: null });
    expect(await readVaultKdf(PHONE_VAULT)).toMatchObject({ algorithm: 'WebAuthn-PRF' });
    phone = await lockedAgain(phone, { deviceKey });
    expect(phone.view()).toMatchObject({ screen: 'unlock', unlockMethod: 'device' });
    deviceKey.cancelNext = true;
    await phone.unlock();
    expect(phone.view()).toMatchObject({ screen: 'unlock', error: expect.stringContaining('cancelled') });
    expect(phone.unlocked).toBe(false);
    await phone.unlock();
    expect(phone.view()).toMatchObject({ screen: 'home', error: null });
    phone = await lockedAgain(phone, { deviceKey: new SoftwareDeviceKey() });
    await phone.unlock();
    expect(phone.unlocked).toBe(false);
    expect(phone.view().error).toMatch(/cancelled|did not give/);
  });

  it('an authenticator without PRF is said plainly, creates nothing, and a passphrase still works', async () => {
    const deviceKey = new SoftwareDeviceKey();
    deviceKey.hasPrf = false;
    const phone = await freshPhone({ deviceKey });
    await phone.chooseKey({ kind: 'device' });
    expect(phone.view()).toMatchObject({ screen: 'create-key', error: expect.stringContaining('no PRF support') });
    expect(await readVaultKdf(PHONE_VAULT)).toBeNull();
    await phone.chooseKey(passphrase(TEST_PASSPHRASE));
    expect(phone.view().screen).toBe('home');
    phone.lock();
  });

  it('without WebAuthn the passphrase is the only choice', async () => {
    const phone = await freshPhone({ deviceKey: null });
    expect(phone.view()).toMatchObject({ screen: 'create-key', deviceKeyAvailable: false });
    await phone.chooseKey({ kind: 'device' });
    expect(phone.view().error).toContain('no WebAuthn');
  });
});

describe('a passphrase', () => {
  it('of under 60 estimated bits is refused — a 6-digit PIN, a short phrase — and so are entries that differ', async () => {
    const phone = await freshPhone({ deviceKey: null });
    for (const weak of [OLD_PIN, '123456', 'correct horse battery', 'Tr0ub4dor&3']) {
      await phone.chooseKey(passphrase(weak));
      expect(phone.view().error, weak).toMatch(/too easy to guess \(about \d+ bits; at least 60/);
    }
    await phone.chooseKey({ kind: 'passphrase', passphrase: TEST_PASSPHRASE, confirmation: `${TEST_PASSPHRASE} ` });
    expect(phone.view().error).toBe('The two entries differ.');
    expect(await readVaultKdf(PHONE_VAULT)).toBeNull();
    expect(phone.unlocked).toBe(false);
  });

  it('the suggested one is 6 words of the BIP-39 list (66 bits), fresh each time, and accepted', async () => {
    const phone = await freshPhone({ deviceKey: null });
    const suggested = phone.view().suggestedPassphrase as string;
    const words = suggested.split(' ');
    expect(words).toHaveLength(GENERATED_WORDS);
    for (const word of words) expect(LangEn.wordlist().getWordIndex(word)).toBeGreaterThanOrEqual(0);
    expect((await freshPhone({ deviceKey: null })).view().suggestedPassphrase).not.toBe(suggested);
    await phone.chooseKey(passphrase(suggested));
    expect(phone.view()).toMatchObject({ screen: 'home', error: null });
    expect(await readVaultKdf(PHONE_VAULT, FAST_KEYS)).toMatchObject({ algorithm: 'scrypt' });
    phone.lock();
  });

  it('wrong ones: five free tries, then a wait that doubles, kept across reloads; the right one resets it', async () => {
    let now = 1_800_000_000_000;
    const clock = { now: () => now, deviceKey: null };
    let phone = await freshPhone(clock);
    await phone.chooseKey(passphrase(TEST_PASSPHRASE));
    phone = await lockedAgain(phone, clock);
    for (let attempt = 1; attempt <= 5; attempt++) {
      await phone.unlock('wrong horse battery staple');
      expect(phone.view().error).toBe('Wrong passphrase.');
    }
    await phone.unlock(TEST_PASSPHRASE);
    expect(phone.view()).toMatchObject({ screen: 'unlock', error: 'Too many wrong attempts. Try again in 30 s.' });
    phone = await openPhone(clock);
    await phone.unlock(TEST_PASSPHRASE);
    expect(phone.view().error).toBe('Too many wrong attempts. Try again in 30 s.');
    now += 30_000;
    await phone.unlock('wrong again');
    expect(phone.view().error).toBe('Wrong passphrase.');
    now += 59_000;
    await phone.unlock(TEST_PASSPHRASE);
    expect(phone.view().error).toBe('Too many wrong attempts. Try again in 1 s.');
    now += 1_000;
    await phone.unlock(TEST_PASSPHRASE);
    expect(phone.view()).toMatchObject({ screen: 'home', error: null });
    phone = await lockedAgain(phone, clock);
    await phone.unlock('wrong');
    expect(phone.view().error).toBe('Wrong passphrase.');
    phone.lock();
  });
});

describe('a PIN vault of an older version', () => {
  async function pinVault(): Promise<void> {
    (await freshPhone()).lock();
    const vault = await createVault(PHONE_VAULT, OLD_PIN, { iterations: 1_000, ...FAST_KEYS });
    await vault.put('history', [{ id: 'x', title: 'Sign a message', origin: 'https://dapp.example', at: 1, outcome: 'signed' }]);
    vault.lock();
  }

  it('opens once with the PIN, to the upgrade screen only, with nothing read or connected', async () => {
    await pinVault();
    const phone = await openPhone();
    expect(phone.view()).toMatchObject({ screen: 'unlock', unlockMethod: 'pin' });
    await phone.unlock('000000');
    expect(phone.view().error).toBe('Wrong PIN.');
    await phone.unlock(OLD_PIN);
    expect(phone.view()).toMatchObject({ screen: 'upgrade-key', history: [], online: false, error: null });
    expect(phone.view().suggestedPassphrase).toEqual(expect.any(String));
    await phone.pair('https://duet.example/#p=whatever');
    expect(phone.view().screen).toBe('upgrade-key');
    await phone.chooseKey(passphrase(OLD_PIN));
    expect(phone.view()).toMatchObject({ screen: 'upgrade-key', error: expect.stringContaining('too easy') });
    await phone.chooseKey({ kind: 'device' });
    // The link opened during the upgrade is used only now (this one is damaged, and says so).
    expect(phone.view()).toMatchObject({ screen: 'home', error: expect.stringMatching(/damaged|no pairing offer/), history: [expect.objectContaining({ id: 'x' })] });
    expect(await readVaultKdf(PHONE_VAULT)).toMatchObject({ algorithm: 'WebAuthn-PRF' });
    await expect(unlockVault(PHONE_VAULT, OLD_PIN, FAST_KEYS)).rejects.toMatchObject({ code: 'invalid_argument' });
    phone.lock();
  });

  it('locked again before the upgrade: still a PIN vault, nothing changed', async () => {
    await pinVault();
    let phone = await openPhone();
    await phone.unlock(OLD_PIN);
    const before = await rawVault();
    phone.lock();
    expect(await rawVault()).toEqual(before);
    phone = await openPhone();
    expect(phone.view()).toMatchObject({ screen: 'unlock', unlockMethod: 'pin' });
  });
});
