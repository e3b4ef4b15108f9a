/**
 * Saving the Guard's rules from the Devices page (src/background/guard-panel.ts): a bad form is a
 * typed error naming its field and nothing reaches the Guard; once the Guard is a member, a
 * loosening without the code is stopped here (field "code"), and the Guard's own code_required
 * becomes the same; before it is a member any policy goes at once. The driver is a recording stub
 * (the real one talks to a real Guard in test/guard/app-guard.test.ts and e2e/guard.spec.ts).
 */
import { parseEther } from 'ethers';
import { describe, expect, it } from 'vitest';
import { guardPanelView, saveGuardPolicy } from '../../src/background/guard-panel.ts';
import type { GuardDriver, GuardPanel } from '../../src/background/pairing.ts';
import { WalletActionError } from '../../src/background/wallet-action-error.ts';
import { GuardRequestError } from '../../src/guard/guard-client.ts';
import { formFromPolicy } from '../../src/guard/policy-form.ts';
import { DEFAULT_POLICY, encodePolicy, type Policy } from '../../src/guard/policy.ts';
import { generateIdentity } from '../../src/channel/handshake.ts';
import { GuardLinks, type GuardLinkChannels } from '../../src/session/guard-links.ts';

const RECIPIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

function driver(panel: GuardPanel | null, answer: (policy: Policy, code?: string) => Promise<unknown> = async () => ({ applied: 'now' })) {
  const sent: { policy: Policy; code: string | undefined }[] = [];
  const guard = {
    panel: () => panel,
    setPolicy: (policy: Policy, code?: string) => {
      sent.push({ policy, code });
      return answer(policy, code);
    },
  } as unknown as GuardDriver;
  return { guard, sent };
}

const member = (policy: Policy = DEFAULT_POLICY): GuardPanel => ({ guardKey: 'g', member: true, policy: { policy, pending: null }, queue: [] });
const loosened = { ...formFromPolicy(DEFAULT_POLICY), dailyEth: [{ chain: '*', eth: '2' }] };

async function refusal(run: Promise<unknown>): Promise<WalletActionError> {
  const error = await run.catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(WalletActionError);
  return error as WalletActionError;
}

describe('saving the Guard rules', () => {
  it('refuses a bad form naming the field, and sends nothing', async () => {
    const { guard, sent } = driver(member());
    const error = await refusal(saveGuardPolicy(guard, { ...formFromPolicy(DEFAULT_POLICY), dailyEth: [{ chain: '*', eth: '0.1234567890123456789' }] }, undefined));
    expect(error.field).toBe('dailyEth[0].eth');
    expect((await refusal(saveGuardPolicy(guard, { dailyEth: 'all of it' }, undefined))).field).toBe('dailyEth');
    expect(sent).toEqual([]);
  });

  it('asks the code for a loosening once the Guard is a member, and sends nothing without it', async () => {
    const { guard, sent } = driver(member());
    const error = await refusal(saveGuardPolicy(guard, loosened, '  '));
    expect(error.field).toBe('code');
    expect(error.message).toMatch(/loosens your rules/);
    expect(sent).toEqual([]);
    await saveGuardPolicy(guard, loosened, ' 123456 ');
    expect(sent).toEqual([{ policy: { ...DEFAULT_POLICY, dailyNative: { '*': parseEther('2') } }, code: '123456' }]);
  });

  it('sends a tightening without a code, and any policy before the Guard is a member', async () => {
    const tight = driver(member());
    await saveGuardPolicy(tight.guard, { ...formFromPolicy(DEFAULT_POLICY), dailyEth: [{ chain: '*', eth: '0.5' }] }, undefined);
    expect(tight.sent[0]?.code).toBeUndefined();
    const enrolling = driver({ ...member(), member: false });
    await saveGuardPolicy(enrolling.guard, { ...loosened, allowList: [{ address: RECIPIENT, label: 'Savings', chain: '' }] }, undefined);
    expect(enrolling.sent[0]?.policy.allowList).toEqual([{ address: RECIPIENT, chainId: null, label: 'Savings' }]);
  });

  it("turns the Guard's code_required into the code field (its order decides), and waits for its rules", async () => {
    const { guard } = driver(member(), async () => {
      throw new GuardRequestError('code_required', 'This needs your second-factor code.');
    });
    expect((await refusal(saveGuardPolicy(guard, formFromPolicy(DEFAULT_POLICY), undefined))).field).toBe('code');
    expect((await refusal(saveGuardPolicy(driver(null).guard, loosened, undefined))).code).toBe('not_paired');
    expect((await refusal(saveGuardPolicy(driver({ ...member(), policy: null }).guard, loosened, undefined))).code).toBe('not_paired');
  });

  it('starts an edit from the pending change (saving replaces it) and lists what it changes', () => {
    const next = { ...DEFAULT_POLICY, dailyNative: { '*': parseEther('2') } };
    const view = guardPanelView({ ...member(), policy: { policy: DEFAULT_POLICY, pending: { id: 'p1', policy: next, requestedAt: 0, effectiveAt: Date.now() + 3_600_000 } } }, Date.now());
    expect(view.form?.dailyEth).toEqual([{ chain: '*', eth: '2' }]);
    expect(view.current?.dailyEth).toEqual([{ chain: '*', eth: '1' }]);
    expect(view.pending).toMatchObject({ item: 'policy:p1' });
    expect(view.pending?.ready).toMatch(/^Applies at /);
    expect(view.pending?.changes[0]).toBe('now: Daily limit per account: 2 ETH a day on each chain (value and network fees, over any 24 hours)');
  });
});

describe("the Guard's policy events", () => {
  it('keeps the latest well-formed policy and pending change, and ignores a malformed one', () => {
    let changes = 0;
    const links = new GuardLinks({ identity: generateIdentity(), role: 'extension', channels: { send: () => true } as unknown as GuardLinkChannels, onChange: () => changes++ });
    const event = (policy: unknown, pending: unknown) => ({ t: 'guard-event', event: { kind: 'policy', policy, pending } });
    expect(links.handle('g', event(encodePolicy(DEFAULT_POLICY), null), true)).toBe(true);
    expect(links.policy('g')).toEqual({ policy: DEFAULT_POLICY, pending: null });
    const next = { ...DEFAULT_POLICY, delayHours: 48 };
    links.handle('g', event(encodePolicy(DEFAULT_POLICY), { id: 'p', policy: encodePolicy(next), requestedAt: 1, effectiveAt: 2 }), true);
    expect(links.policy('g')?.pending).toEqual({ id: 'p', policy: next, requestedAt: 1, effectiveAt: 2 });
    const seen = changes;
    for (const [policy, pending] of [
      [{ ...encodePolicy(DEFAULT_POLICY), dailyNative: {} }, null],
      [encodePolicy(DEFAULT_POLICY), { id: 'p', policy: encodePolicy(next), requestedAt: 'soon', effectiveAt: 2 }],
      [encodePolicy(DEFAULT_POLICY), { id: 'p', policy: { version: 2 }, requestedAt: 1, effectiveAt: 2 }],
    ]) links.handle('g', event(policy, pending), true);
    expect(links.policy('g')?.pending?.id).toBe('p');
    expect(changes).toBe(seen);
  });
});
