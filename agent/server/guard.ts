import {
  MAX_FAILURES_PER_ADDRESS_PER_MINUTE,
  MAX_PENDING_CONNECTIONS,
  MAX_PENDING_PER_ADDRESS,
} from "../../shared/limits.js";

/**
 * Keeps unauthenticated peers from crowding out real clients: caps pending connections (overall and per
 * address) and refuses an address for the rest of the minute once it has failed too often.
 */
export class ConnectionGuard {
  private pending = 0;
  private readonly pendingBy = new Map<string, number>();
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Why a new connection from `address` is refused, or undefined when it may proceed. */
  refusal(address: string): string | undefined {
    const failed = this.failures.get(address);
    if (failed && this.now() - failed.since < 60_000 && failed.count >= MAX_FAILURES_PER_ADDRESS_PER_MINUTE) {
      return "too many rejected requests from this address; try again in a minute";
    }
    if (this.pending >= MAX_PENDING_CONNECTIONS) return "too many connections waiting to authenticate";
    if ((this.pendingBy.get(address) ?? 0) >= MAX_PENDING_PER_ADDRESS) {
      return "too many connections from this address waiting to authenticate";
    }
    return undefined;
  }

  open(address: string): () => void {
    this.pending += 1;
    this.pendingBy.set(address, (this.pendingBy.get(address) ?? 0) + 1);
    let settled = false;
    return () => {
      if (settled) return;
      settled = true;
      this.pending -= 1;
      const left = (this.pendingBy.get(address) ?? 1) - 1;
      if (left <= 0) this.pendingBy.delete(address);
      else this.pendingBy.set(address, left);
    };
  }

  failed(address: string): void {
    const entry = this.failures.get(address);
    if (!entry || this.now() - entry.since >= 60_000)
      this.failures.set(address, { count: 1, since: this.now() });
    else entry.count += 1;
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
 * and re-attach with it; anyone else who obtains the token afterwards cannot sign for that key.
 */
export class TokenPins {
  private readonly pins = new Map<string, { kid: string; expiresAtS: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** False when the token is already pinned to another key. */
  pin(tokenId: string, kid: string, expiresAtS: number): boolean {
    const nowS = Math.floor(this.now() / 1000);
    if (this.pins.size > 1000) {
      for (const [id, pin] of this.pins) if (pin.expiresAtS < nowS - 60) this.pins.delete(id);
    }
    const existing = this.pins.get(tokenId);
    if (existing && existing.expiresAtS >= nowS - 60) return existing.kid === kid;
    this.pins.set(tokenId, { kid, expiresAtS });
    return true;
  }
}
