/**
 * Text from a site, made safe to show: characters that are invisible or change how the text
 * around them looks are written as `\u{…}` escapes, line breaks are kept.
 *
 * Escaped: every format character (Unicode category Cf: zero-width spaces and joiners, the
 * bidirectional overrides and isolates, the soft hyphen, the byte-order mark…), every control
 * character (Cc) except the line feed and the tab, and the line and paragraph separators
 * (U+2028, U+2029), which some renderers treat as line breaks and others do not.
 */
const HIDDEN = /[\p{Cf}\p{Cc}\u2028\u2029]/gu;
const KEPT = new Set(['\n', '\t']);

export interface DisplayText {
  readonly text: string;
  /** How many characters were escaped. */
  readonly escaped: number;
}

export function escapeHidden(value: string): DisplayText {
  let escaped = 0;
  const text = value.replace(HIDDEN, (char) => {
    if (KEPT.has(char)) return char;
    escaped++;
    return `\\u{${(char.codePointAt(0) as number).toString(16)}}`;
  });
  return { text, escaped };
}

/** A short, escaped rendering of any JSON value, for notices that quote what a site sent. */
export function quoteValue(value: unknown, maxLength = 66): string {
  const json = JSON.stringify(value) ?? String(value);
  const { text } = escapeHidden(json);
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text;
}

export const HIDDEN_CHARACTERS_NOTICE = 'contains invisible or control characters, shown here as \\u{…} escapes';
