import WebSocket from "ws";

export interface RawOutcome {
  messages: Record<string, unknown>[];
  closeCode: number;
  closeReason: string;
}

/**
 * A bare WebSocket peer for sending what no honest client would: it waits for hello, sends whatever `reply`
 * builds from it (text, or raw bytes), and reports every message and the close code.
 */
export function rawSession(
  url: string,
  reply:
    | ((hello: {
        nonce: string;
        agentId: string;
      }) => Promise<string | Buffer | undefined> | string | Buffer | undefined)
    | undefined,
  localAddress = "127.0.0.3",
): Promise<RawOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress });
    const messages: Record<string, unknown>[] = [];
    ws.on("message", (data) => {
      const message = JSON.parse(data.toString()) as Record<string, unknown>;
      messages.push(message);
      if (message.type === "hello" && reply) {
        void Promise.resolve(reply(message as unknown as { nonce: string; agentId: string })).then(
          (payload) => {
            if (payload !== undefined) ws.send(payload);
          },
        );
      }
    });
    ws.on("error", reject);
    ws.on("close", (code, reason) => resolve({ messages, closeCode: code, closeReason: reason.toString() }));
  });
}
