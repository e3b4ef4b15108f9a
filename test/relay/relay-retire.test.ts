/**
 * Revoking a channel (RETIRE): how a member ends its pairing — unpairing, or later removing a
 * member of a wallet with more devices — so that nobody, the other member included, can use the
 * channel again, even after the relay crashed.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeRelayStatus, type RelayClient, type RelayStatus } from '../../src/channel/relay-client.ts';
import { CloseCode } from '../../src/channel/relay-protocol.ts';
import { startRelay, type RunningRelay } from '../../src/relay/relay-server.ts';
import { client, newChannelId, squatterMember, text, waitFor } from './relay-support.ts';
import { STORES, storeBackend } from './relay-stores.ts';

describe.each(STORES)('%s store', (kind) => {
  const backend = storeBackend(kind);

  let cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const step of cleanup.reverse()) await step();
    cleanup = [];
  });

  /** Relays given the same `shared` name serve the same channels (with Redis: a second instance). */
  async function relayWith(stateDir: string | null, shared?: string): Promise<RunningRelay> {
    const relay = await startRelay({ ...backend.options(shared), port: 0, staticDir: null, log: () => undefined, stateDir, drainTimeoutMs: 100 });
    cleanup.push(() => relay.close());
    return relay;
  }

  function finalStatus(member: RelayClient): Promise<RelayStatus> {
    return new Promise((resolve) => {
      if (member.status.kind === 'failed') return resolve(member.status);
      member.onStatus((status) => status.kind === 'failed' && resolve(status));
    });
  }

  describe('retiring a channel', () => {
    it('ends it for both members: mailboxes dropped, both refused (4010) with a sentence the apps show, also after a crash', async () => {
      // (An online member is closed with 4010 at once: test/channel/apps-over-relay.test.ts.)
      const stateDir = mkdtempSync(join(tmpdir(), 'duet-relay-retired-'));
      const relay = await relayWith(stateDir, 'retired');
      const secret = newChannelId();
      const extension = client(relay.wsUrl, secret, 'extension');
      const phone = client(relay.wsUrl, secret, 'phone');
      cleanup.push(() => (extension.close(), phone.close()));
      await Promise.all([extension.connect(), phone.connect()]);
      phone.close();
      extension.send(text('never delivered'));
      await waitFor(async () => (await relay.stats()).framesQueued === 1);

      expect(await extension.retire()).toBe(true);
      expect(await relay.stats()).toMatchObject({ channels: 0, framesQueued: 0, mailboxBytes: 0 });
      const phoneAgain = client(relay.wsUrl, secret, 'phone');
      cleanup.push(() => phoneAgain.close());
      await expect(phoneAgain.connect()).rejects.toThrow(/4010/);
      const status = await finalStatus(phoneAgain);
      expect(status).toMatchObject({ kind: 'failed', code: CloseCode.retired });
      expect(describeRelayStatus(status)).toMatch(/ended this pairing/);

      // A relay started on the same state directory without a graceful stop (as after a crash) still refuses it.
      const afterCrash = await relayWith(stateDir, 'retired');
      await expect(client(afterCrash.wsUrl, secret, 'extension').connect()).rejects.toThrow(/4010/);
    });

    it('only a member can retire: a hello without the key is refused (4003) before anything else', async () => {
      const relay = await relayWith(null);
      const secret = newChannelId();
      const extension = client(relay.wsUrl, secret, 'extension');
      cleanup.push(() => extension.close());
      await extension.connect();
      const squatter = await squatterMember(relay.port, secret, 'phone');
      expect(await squatter.closed).toBe(CloseCode.unauthorized);
      expect(extension.isOnline).toBe(true);
    });
  });
});
