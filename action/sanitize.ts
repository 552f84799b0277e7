/**
 * Agent and container text is untrusted: drop terminal control sequences and control characters so a log line
 * cannot rewrite the terminal, hide text, or start a line of its own (where a CI would read a workflow command).
 */
export function sanitizeLine(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "")
      .replace(/[\r\n]+/g, " ")
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f\u009b]/g, "")
      .slice(0, 8192)
  );
}
