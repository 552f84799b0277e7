/** Docker's stdout/stderr multiplexing without a TTY: frames of an 8-byte header (stream, size) and a payload. */
export function* frames(raw: Buffer): Generator<{ stream: "stdout" | "stderr"; payload: Buffer }> {
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const size = raw.readUInt32BE(offset + 4);
    const stream = raw[offset] === 2 ? "stderr" : "stdout";
    yield { stream, payload: raw.subarray(offset + 8, offset + 8 + size) };
    offset += 8 + size;
  }
}

/** Every frame's payload, in order, as text. */
export function demultiplex(raw: Buffer): string {
  return Buffer.concat([...frames(raw)].map((frame) => frame.payload)).toString("utf8");
}
