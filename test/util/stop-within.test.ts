import { stopWithin } from '../../src/util/stop-within';

describe('stopWithin', () => {
  it('a stop that finishes in time is reported finished', async () => {
    const r = await stopWithin(
      () => new Promise((ok) => setTimeout(ok, 20)),
      1000,
      () => 'x',
    );
    expect(r).toEqual({ finished: true });
  });

  it('a stop that hangs is given up at the bound, naming the step it was at then', async () => {
    let step = 'first';
    const t0 = Date.now();
    setTimeout(() => (step = 'second'), 50);
    const r = await stopWithin(
      () => new Promise(() => undefined),
      200,
      () => step,
    );
    expect(r).toEqual({ finished: false, step: 'second' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });

  it('a stop that fails passes its error on (the caller logs it as before)', async () => {
    await expect(
      stopWithin(
        () => Promise.reject(new Error('boom')),
        1000,
        () => 'x',
      ),
    ).rejects.toThrow('boom');
  });
});
