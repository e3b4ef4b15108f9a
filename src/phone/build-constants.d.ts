/** Set by vite.phone.config.ts: the ws(s):// relay origins the app's CSP allows besides its own. */
declare const __DUET_RELAY_ORIGINS__: readonly string[];
/** Set by vite.phone.config.ts: true in the development build only (end-to-end test hooks; see dev-hooks.ts). */
declare const __DUET_DEV_HOOKS__: boolean;
