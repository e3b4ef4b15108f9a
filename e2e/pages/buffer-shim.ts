/** @metamask/eth-sig-util (through @ethereumjs/util) expects Node's Buffer: the page provides it, as dApp bundlers do. */
import { Buffer } from 'buffer';

(globalThis as unknown as { Buffer?: typeof Buffer }).Buffer ??= Buffer;
