/**
 * Agent and container text is untrusted: drop terminal control sequences and control characters so a log line
 * cannot rewrite the terminal or hide text. (CI workflow commands are handled by the CI renderers.)
 */
export function sanitizeLine(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "")
      // eslint-disable-next-line no-control-regex -- matching control characters is the point
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f\u009b]/g, "")
      .slice(0, 8192)
  );
}
