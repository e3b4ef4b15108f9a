/** The phone app address given at creation (issue 11, point 5): https, or plain http on loopback only. */
import { describe, expect, it } from 'vitest';
import { createHarness, PASSWORD } from './harness.ts';
import { chainNode } from './scripted-node.ts';

const node = chainNode(31337);

describe('the phone app address', () => {
  it('refuses plain http off loopback before anything is created', async () => {
    const h = await createHarness(node.fetch);
    for (const phoneAppUrl of ['http://phone.duet.example/', 'http://192.168.1.20:8787/', 'not a url']) {
      await expect(h.wallet.create(PASSWORD, { phoneAppUrl })).rejects.toMatchObject({ code: 'invalid_input', field: 'phoneAppUrl' });
    }
    expect((await h.view()).vaultExists).toBe(false);
  });

  it('takes https, and http on this machine', async () => {
    for (const phoneAppUrl of ['https://phone.duet.example/', 'http://localhost:8787/']) {
      const h = await createHarness(node.fetch);
      await h.wallet.create(PASSWORD, { phoneAppUrl });
      expect((await h.view()).state.phoneAppUrl).toBe(phoneAppUrl);
    }
  });
});
