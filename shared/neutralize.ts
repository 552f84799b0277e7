/**
 * Text that crosses a trust boundary (a container's output, an agent's messages, a client's CI metadata) is
 * shown to people and read by CI runners. Neutralised, it stays one line of plain text in every view:
 *
 * - terminal escapes are removed whole: 7-bit (ESC [ … CSI, ESC ] … OSC, DCS/APC/PM/SOS strings, two-byte
 *   escapes) and 8-bit (U+009B CSI, U+009D OSC, U+0090 DCS … up to ST or BEL);
 * - every other C0 and C1 control, DEL and the bidi overrides and marks (which reorder what a reader sees) are
 *   dropped; line breaks of every kind (CR, LF, NEL, U+2028/9) and tabs become a space;
 * - GitHub workflow commands cannot form: the runner reads `##[name]` anywhere in a line and `::name::` at
 *   the start of a line after any white space, so `##[` and a leading `::` are broken by a space;
 * - GitLab section markers cannot form: `section_start:` and `section_end:` are broken by a space (GitLab
 *   also needs ESC [0K before them, which never survives).
 */

const ESCAPE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]?|(?:\u001b[\]PX^_]|[\u0090\u0098\u009d-\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?|\u001b[ -/]*[0-~]?/g;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const BREAK = /[\t\r\n\u000b\u000c\u0085\u2028\u2029]+/g;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Neutralises `text` for any single-line view: terminal, CI log, table cell, chat message. */
export function neutralize(text: string, maxChars = 8192): string {
  const plain = text.replace(ESCAPE, "").replace(BREAK, " ").replace(CONTROL, "");
  return plain
    .replace(/##\[/g, "# #[")
    .replace(/^(\s*):(?=:)/u, "$1: ")
    .replace(/section_(start|end):/g, "section_$1 :")
    .slice(0, maxChars);
}

// Characters JSON.stringify leaves as they are but a terminal or a runner acts on.
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON (one line unless indented) that a terminal or CI runner shows as inert text and a JSON reader decodes back to `value`
 * exactly: control, bidi and line-separator characters become \u escapes, and `##[` is written `##\u005b`.
 */
export function jsonLine(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent)
    .replace(JSON_UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)
    .replace(/##\[/g, "##\\u005b");
}
