export type DaemonLevel = "debug" | "info" | "warn" | "error";
export type DaemonLog = (level: DaemonLevel, message: string, fields?: Record<string, unknown>) => void;

const RANK: Record<DaemonLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/**
 * JSON lines under systemd (journald) and for log shippers, readable lines on a terminal; lines below the
 * configured level are dropped. Never given secrets to print.
 */
export function createDaemonLog(options: { json?: boolean; level?: () => DaemonLevel } = {}): DaemonLog {
  const json = options.json ?? (!process.stdout.isTTY || process.env.JOURNAL_STREAM !== undefined);
  return (level, message, fields = {}) => {
    if (RANK[level] < RANK[options.level?.() ?? "info"]) return;
    if (json) {
      process.stdout.write(
        `${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`,
      );
      return;
    }
    const extra = Object.entries(fields)
      .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
      .join(" ");
    process.stdout.write(
      `${new Date().toISOString()} ${level.padEnd(5)} ${message}${extra ? ` ${extra}` : ""}\n`,
    );
  };
}
