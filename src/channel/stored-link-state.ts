/**
 * Storing the state of a device's link to its peer: the channel's and the relay client's, taken
 * together, written by the caller, then confirmed to both. Only after the confirmation may the
 * channel send past its last stored send floor and the relay client acknowledge what it received
 * (see docs/channel.md, "Saved state never reuses a nonce").
 */
import type { RelayClient, RelayClientState } from './relay-client.ts';
import type { SecureChannel, SecureChannelState } from './secure-channel.ts';

export interface LinkState {
  readonly channel: SecureChannelState;
  readonly relay: RelayClientState;
}

/** Takes both states, awaits `write(state)`, then confirms it; a failed write confirms nothing. */
export async function storeLinkState(channel: SecureChannel, relay: RelayClient, write: (state: LinkState) => Promise<void>): Promise<void> {
  const state: LinkState = { channel: channel.save(), relay: relay.saveState() };
  await write(state);
  channel.confirmSaved(state.channel);
  relay.confirmSaved(state.relay);
}
