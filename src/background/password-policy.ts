/** The password rule the popup shows and the vault session enforces. */
export const MIN_PASSWORD_LENGTH = 8;
