/**
 * Storing the state of a device's link to its peer: the channel's, the relay client's and the
 * path switch's, taken together, written by the caller, then confirmed to all three. Only after
 * the confirmation may the channel send past its last stored send floor, the relay client
 * acknowledge what it received, and the peer drop the direct frames it keeps for this device
 * (see docs/channel.md, "Saved state never reuses a nonce" and "The direct path").
 */
import type { PathSwitch, PathSwitchState } from './path-switch.ts';
import type { RelayClient, RelayClientState } from './relay-client.ts';
import type { SecureChannel, SecureChannelState } from './secure-channel.ts';

export interface LinkState {
  readonly channel: SecureChannelState;
  readonly relay: RelayClientState;
  /** Absent in states stored before the direct path existed. */
  readonly path?: PathSwitchState;
}

/** Takes the three states, awaits `write(state)`, then confirms it; a failed write confirms nothing. */
export async function storeLinkState(channel: SecureChannel, relay: RelayClient, paths: PathSwitch, write: (state: LinkState) => Promise<void>): Promise<void> {
  const state: LinkState = { channel: channel.save(), relay: relay.saveState(), path: paths.save() };
  await write(state);
  channel.confirmSaved(state.channel);
  relay.confirmSaved(state.relay);
  paths.confirmSaved(state.path as PathSwitchState);
}
