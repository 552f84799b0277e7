export type DaemonLevel = "debug" | "info" | "warn" | "error";
export type DaemonLog = (level: DaemonLevel, message: string, fields?: Record<string, unknown>) => void;

/** JSON lines for journald and log shippers; readable lines on a terminal. Never given secrets to print. */
export function createDaemonLog(json = !process.stdout.isTTY): DaemonLog {
  return (level, message, fields = {}) => {
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
