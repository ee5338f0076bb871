/** The clocks the store and the journal stamp records with (src/agent/clock.ts makes the real one). */
export interface Clock {
  /** Wall time (ms since the epoch): for people; it can jump. */
  wallMs(): number;
  /** Monotonic time since boot (ms): comparable across restarts within one boot. */
  monoMs(): number;
  /** This boot's id: monotonic times compare only within one boot. */
  bootId: string;
}
