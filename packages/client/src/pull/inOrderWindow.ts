/** How much a window lets run at once: at most `count` items, and at most `bytes` of their weight together. */
export type WindowLimit = { count: number; bytes: number };

/**
 * Starts `run` for each item, in order, while fewer than `limit.count` run and their weights (`weigh`, bytes)
 * add up to at most `limit.bytes` (an item heavier than the budget runs alone), and returns one promise per item.
 * Callers consume the results in order, so the window keeps transfers flowing while results are used one by
 * one. Rejections are also observed here, so an abandoned result never becomes an unhandled rejection.
 */
export function inOrderWindow<T, R>(items: readonly T[], limit: WindowLimit, weigh: (item: T) => number, run: (item: T) => Promise<R>): Promise<R>[] {
  let next = 0;
  let active = 0;
  let activeBytes = 0;
  const settle: { resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  const results = items.map(
    () =>
      new Promise<R>((resolve, reject) => {
        settle.push({ resolve, reject });
      }),
  );
  for (const r of results) r.catch(() => undefined);
  const pump = (): void => {
    while (active < limit.count && next < items.length) {
      const i = next;
      const weight = Math.max(0, weigh(items[i]!));
      if (active > 0 && activeBytes + weight > limit.bytes) break;
      next++;
      active++;
      activeBytes += weight;
      run(items[i]!)
        .then(settle[i]!.resolve, settle[i]!.reject)
        .finally(() => {
          active--;
          activeBytes -= weight;
          pump();
        });
    }
  };
  pump();
  return results;
}
