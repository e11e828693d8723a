/**
 * The only source of time for domain code. Inject `Clock`; never call `new Date()` or
 * `Date.now()` in handlers, deciders, sagas or projections.
 */
export abstract class Clock {
  abstract now(): Date;
}

export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}

/** A clock that only moves when told to. For tests and for deterministic replays. */
export class ManualClock extends Clock {
  private current: number;

  constructor(start: Date | string = '2026-01-05T02:00:00.000Z') {
    super();
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  set(at: Date | string): void {
    this.current = new Date(at).getTime();
  }

  advance(ms: number): Date {
    this.current += ms;
    return this.now();
  }
}
