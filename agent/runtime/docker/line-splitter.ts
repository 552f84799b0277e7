/**
 * Splits a byte stream into lines of at most `maxBytes`, whatever the stream holds: a line longer than that
 * keeps its first `maxBytes` and counts the rest as cut (without holding it), a stream with no newline at all
 * still comes out in bounded pieces at its end, and bytes that are not UTF-8 are decoded as U+FFFD when a line
 * is read. Memory held is at most `maxBytes` whatever the input.
 */
export class LineSplitter {
  private readonly held: Buffer;
  private length = 0;
  private cut = 0;

  constructor(
    maxBytes: number,
    private readonly onLine: (line: Buffer, cutBytes: number) => void,
  ) {
    this.held = Buffer.alloc(maxBytes);
  }

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline < 0 ? chunk.length : newline;
      this.take(chunk, start, end);
      if (newline < 0) return;
      this.flush();
      start = newline + 1;
    }
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    if (this.length > 0 || this.cut > 0) this.flush();
  }

  private take(chunk: Buffer, start: number, end: number): void {
    const room = this.held.length - this.length;
    const copied = Math.min(room, end - start);
    chunk.copy(this.held, this.length, start, start + copied);
    this.length += copied;
    this.cut += end - start - copied;
  }

  private flush(): void {
    let length = this.length;
    if (this.cut === 0 && length > 0 && this.held[length - 1] === 0x0d) length -= 1;
    // A copy: the line may outlive the next push, which reuses the buffer.
    const line = Buffer.from(this.held.subarray(0, length));
    const cut = this.cut;
    this.length = 0;
    this.cut = 0;
    this.onLine(line, cut);
  }
}
