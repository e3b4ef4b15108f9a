/**
 * A PhoneLink for tests: pairing completes as soon as the SAS is confirmed (no relay, no phone
 * app), co-signing goes to a LocalTestCoSigner stand-in, and the members' driver only records the
 * settings records the wallet shares (it shows no members).
 */
import { IDLE_PAIRING, type MembersDriver, type PairingDriver, type PairingProgress, type PhoneLink, type PhoneLinkContext, type PhoneLinkFactory } from '../../src/background/pairing.ts';
import type { SettingsBody } from '../../src/session/settings-record.ts';
import type { LocalTestCoSigner } from './local-test-co-signer.ts';

export const TEST_SAS = '246810';
const TEST_LINK_RECORD = 'testLink';
const OFFER_TTL_MS = 5 * 60_000;

class TestPhoneLink implements PhoneLink, PairingDriver {
  readonly coSigner: LocalTestCoSigner;
  private readonly context: PhoneLinkContext;
  private current: PairingProgress = IDLE_PAIRING;
  private readonly listeners = new Set<(progress: PairingProgress) => void>();
  readonly members: MembersDriver;
  closed = false;

  constructor(context: PhoneLinkContext, phone: LocalTestCoSigner, settingsShared: SettingsBody[]) {
    this.context = context;
    this.coSigner = phone;
    const nothing = async (): Promise<void> => undefined;
    this.members = {
      view: () => null,
      joiningView: () => null,
      decide: () => undefined,
      remove: nothing,
      retry: nothing,
      cancel: () => undefined,
      cutOffRemoved: nothing,
      rename: nothing,
      shareSettings: (body) => void settingsShared.push(body),
      shareHistory: () => undefined,
    };
  }

  get pairing(): PairingDriver {
    return this;
  }

  progress(): PairingProgress {
    return this.current;
  }

  onProgress(listener: (progress: PairingProgress) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    this.set({ phase: 'confirm-sas', link: 'https://phone.duet.test/#p=test', sas: TEST_SAS, error: null, expiresAt: this.context.now() + OFFER_TTL_MS });
  }

  confirmSas(matches: boolean): void {
    if (this.current.phase !== 'confirm-sas') return;
    if (!matches) {
      this.set({ ...IDLE_PAIRING, phase: 'failed', error: 'The codes did not match.' });
      return;
    }
    this.set({ ...this.current, phase: 'generating-key' });
    void this.context.completePairing({ pairedKey: this.coSigner.pairedKey, deviceName: 'Test phone' }, { [TEST_LINK_RECORD]: { paired: true } }).then(() => this.set(IDLE_PAIRING));
  }

  cancel(): void {
    this.set(IDLE_PAIRING);
  }

  async forget(): Promise<void> {
    await this.context.secrets.delete(TEST_LINK_RECORD);
  }

  close(): void {
    this.closed = true;
  }

  private set(progress: PairingProgress): void {
    this.current = progress;
    for (const listener of this.listeners) listener(progress);
  }
}

export function testPhoneLinks(phone: LocalTestCoSigner, created: TestPhoneLink[] = [], settingsShared: SettingsBody[] = []): PhoneLinkFactory {
  return (context) => {
    const link = new TestPhoneLink(context, phone, settingsShared);
    created.push(link);
    return link;
  };
}
