/**
 * Starts `run` for each item, at most `limit` at a time, in order, and returns one promise per item. Callers
 * consume the results in order, so the window keeps transfers flowing while results are used one by one.
 * Rejections are also observed here, so an abandoned result never becomes an unhandled rejection.
 */
export function inOrderWindow<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R>[] {
  let next = 0;
  let active = 0;
  const settle: { resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  const results = items.map(
    () =>
      new Promise<R>((resolve, reject) => {
        settle.push({ resolve, reject });
      }),
  );
  for (const r of results) r.catch(() => undefined);
  const pump = (): void => {
    while (active < limit && next < items.length) {
      const i = next++;
      active++;
      run(items[i]!)
        .then(settle[i]!.resolve, settle[i]!.reject)
        .finally(() => {
          active--;
          pump();
        });
    }
  };
  pump();
  return results;
}
