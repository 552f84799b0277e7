import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { writeFileAtomic } from "../files/atomic-write.js";
import {
  MAX_FAILURES_PER_ADDRESS_PER_MINUTE,
  MAX_PENDING_CONNECTIONS,
  MAX_PENDING_PER_ADDRESS,
} from "../../shared/limits.js";

/** Per-address failure windows kept at most; the oldest go first (a flood of addresses cannot grow memory). */
const MAX_TRACKED_ADDRESSES = 10_000;

/**
 * Keeps unauthenticated peers from crowding out real clients. Pending connections (upgraded, no valid request
 * yet) are capped per address; when every slot overall is taken, the one that has waited longest is closed to
 * make room — a real client sends its request within moments of the hello, so a flood from many addresses
 * holding slots until their deadline evicts only itself. An address that failed too often is refused for the
 * rest of the minute. Addresses are limit keys (an IPv6 /64 counts as one).
 */
export class ConnectionGuard {
  private readonly pendingBy = new Map<string, number>();
  /** Insertion order is age: the first entry has waited longest. */
  private readonly pending = new Map<number, { key: string; evict: () => void }>();
  private nextId = 0;
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly limits = {
      pending: MAX_PENDING_CONNECTIONS,
      pendingPerAddress: MAX_PENDING_PER_ADDRESS,
      failuresPerMinute: MAX_FAILURES_PER_ADDRESS_PER_MINUTE,
    },
  ) {}

  /** Why a new connection from `key` is refused, or undefined when it may proceed. */
  refusal(key: string): string | undefined {
    const failed = this.failures.get(key);
    if (failed && this.now() - failed.since < 60_000 && failed.count >= this.limits.failuresPerMinute) {
      return "too many rejected requests from this address; try again in a minute";
    }
    if ((this.pendingBy.get(key) ?? 0) >= this.limits.pendingPerAddress) {
      return "too many connections from this address waiting to authenticate";
    }
    return undefined;
  }

  /**
   * Takes a pending slot for `key`; `evict` closes the connection if its slot is needed. Returns the release,
   * called when the connection authenticates or closes.
   */
  open(key: string, evict: () => void): () => void {
    if (this.pending.size >= this.limits.pending) {
      const [oldestId, oldest] = this.pending.entries().next().value ?? [];
      if (oldestId !== undefined && oldest) {
        this.release(oldestId);
        oldest.evict();
      }
    }
    const id = this.nextId++;
    this.pending.set(id, { key, evict });
    this.pendingBy.set(key, (this.pendingBy.get(key) ?? 0) + 1);
    return () => this.release(id);
  }

  /** Connections waiting to authenticate now. */
  get waiting(): number {
    return this.pending.size;
  }

  failed(key: string): void {
    const now = this.now();
    const entry = this.failures.get(key);
    if (entry && now - entry.since < 60_000) {
      entry.count += 1;
      return;
    }
    this.failures.delete(key);
    this.failures.set(key, { count: 1, since: now });
    if (this.failures.size > MAX_TRACKED_ADDRESSES) this.prune(now);
  }

  /** Addresses tracked for failures (for tests and metrics). */
  get tracked(): number {
    return this.failures.size;
  }

  private prune(now: number): void {
    for (const [key, entry] of this.failures) {
      if (this.failures.size <= MAX_TRACKED_ADDRESSES && now - entry.since < 60_000) break;
      this.failures.delete(key);
    }
  }

  private release(id: number): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    const left = (this.pendingBy.get(entry.key) ?? 1) - 1;
    if (left <= 0) this.pendingBy.delete(entry.key);
    else this.pendingBy.set(entry.key, left);
  }
}

/** Remembers request ids until they expire, so a token is accepted at most once. */
export class ReplayCache {
  private readonly seen = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records `jti`; false when it was already seen. */
  remember(jti: string, expiresAtS: number): boolean {
    const nowS = Math.floor(this.now() / 1000);
    if (this.seen.size > 1000) {
      for (const [id, exp] of this.seen) if (exp < nowS - 60) this.seen.delete(id);
    }
    if (this.seen.has(jti)) return false;
    this.seen.set(jti, expiresAtS);
    return true;
  }
}

/**
 * Binds each CI ID token to the first run key that used it, until the token expires. The same run may reconnect
 * and re-attach with it; anyone else who obtains the token afterwards cannot sign for that key. With a file, the
 * pins are saved on every new pin and read back at start, so an agent restart does not free a used token.
 */
export class TokenPins {
  private readonly pins = new Map<string, { kid: string; expiresAtS: number }>();
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly file?: string,
  ) {}

  /** Reads the saved pins (those not yet expired); a missing or unreadable file is no pins. */
  async load(): Promise<void> {
    if (!this.file) return;
    const text = await readFile(this.file, "utf8").catch(() => "{}");
    let saved: unknown;
    try {
      saved = JSON.parse(text);
    } catch {
      return;
    }
    const nowS = Math.floor(this.now() / 1000);
    for (const [id, pin] of Object.entries(
      (saved ?? {}) as Record<string, { kid?: unknown; expiresAtS?: unknown }>,
    )) {
      if (typeof pin.kid === "string" && typeof pin.expiresAtS === "number" && pin.expiresAtS >= nowS - 60)
        this.pins.set(id, { kid: pin.kid, expiresAtS: pin.expiresAtS });
    }
  }

  /** False when the token is already pinned to another key. Resolves once a new pin is saved. */
  async pin(tokenId: string, kid: string, expiresAtS: number): Promise<boolean> {
    const nowS = Math.floor(this.now() / 1000);
    if (this.pins.size > 1000) {
      for (const [id, pin] of this.pins) if (pin.expiresAtS < nowS - 60) this.pins.delete(id);
    }
    const existing = this.pins.get(tokenId);
    if (existing && existing.expiresAtS >= nowS - 60) return existing.kid === kid;
    this.pins.set(tokenId, { kid, expiresAtS });
    if (this.file) {
      const file = this.file;
      const content = JSON.stringify(Object.fromEntries(this.pins));
      // The pin holds in memory whatever the disk does; a failed save only loses it at the next restart.
      this.saving = this.saving
        .then(() => mkdir(dirname(file), { recursive: true, mode: 0o750 }))
        .then(() => writeFileAtomic(file, content, 0o600))
        .catch(() => undefined);
      await this.saving;
    }
    return true;
  }
}
