/** Set by vite.phone.config.ts: the ws(s):// relay origins the app's CSP allows besides its own. */
declare const __DUET_RELAY_ORIGINS__: readonly string[];
