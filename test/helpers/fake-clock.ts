// A clock for retry loops under test: sleeps advance time at once and are recorded; an aborted signal rejects.

export interface FakeClock {
  t: number;
  sleeps: number[];
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export function fakeClock(): FakeClock {
  const clock: FakeClock = {
    t: 0,
    sleeps: [],
    now: () => clock.t,
    async sleep(ms, signal) {
      if (signal?.aborted) throw signal.reason;
      clock.sleeps.push(ms);
      clock.t += ms;
    },
  };
  return clock;
}
