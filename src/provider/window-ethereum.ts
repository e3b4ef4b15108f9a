/**
 * window.ethereum, kept pointing at Duet without locking other wallets out (the idea of Rabby's
 * "default wallet"; RabbyHub/page-provider routes window.ethereum through a getter and a setter
 * that records what pages assign).
 *
 * Duet defines window.ethereum as an accessor that stays configurable:
 * - reading gives Duet while "keep" is on (the default), else the last provider the page (or a
 *   wallet injected earlier) put there, else Duet;
 * - assigning (a bundled MetaMask SDK doing `window.ethereum = …` after load) never throws and is
 *   remembered, so turning "keep" off hands window.ethereum to it;
 * - the property stays configurable: another wallet can still redefine it with
 *   Object.defineProperty and take it over. Duet does not fight that (it is a wallet the user
 *   installed, not a page script). A window.ethereum another wallet already made
 *   non-configurable is left as it is.
 */
export interface WindowEthereumControl {
  /** False when window.ethereum was non-configurable already and Duet left it alone. */
  readonly installed: boolean;
  setKeep(keep: boolean): void;
}

export function installWindowEthereum(target: object, duet: unknown, keep = true): WindowEthereumControl {
  const descriptor = Object.getOwnPropertyDescriptor(target, 'ethereum');
  if (descriptor && !descriptor.configurable) return { installed: false, setKeep: () => undefined };
  let keeping = keep;
  let assigned: unknown = descriptor ? (descriptor.get ? descriptor.get.call(target) : descriptor.value) : undefined;
  Object.defineProperty(target, 'ethereum', {
    configurable: true,
    enumerable: true,
    get: () => (keeping || assigned === undefined || assigned === null ? duet : assigned),
    set: (value: unknown) => {
      assigned = value === duet ? undefined : value;
    },
  });
  return {
    installed: true,
    setKeep: (next) => {
      keeping = next;
    },
  };
}
