/**
 * The hub's log lines carry text clients chose (client ids, usernames, topics, paths, a token's resource or policy
 * name). Written raw, a newline or carriage return in such text would start a line of the client's making, and
 * terminal escape sequences would reach whoever reads the log. Each line is escaped once where it is written.
 */

// C0 controls, DEL, C1 controls, and the Unicode line and paragraph separators.
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_LOG = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/g;

/** `\` becomes `\\` and each unsafe character `\xNN` / `\uNNNN`, so an escaped line reads back unambiguously. */
export function escapeLogText(text: string): string {
  return text.replace(UNSAFE_IN_LOG, (character) => {
    if (character === "\\") return "\\\\";
    const code = character.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** A log function that writes every line escaped: one line in, exactly one line out. */
export function escapingLog(write: (line: string) => void): (line: string) => void {
  return (line) => write(escapeLogText(line));
}
