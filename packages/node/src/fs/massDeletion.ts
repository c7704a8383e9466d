/** Losing this many files or fewer never counts as a mass deletion. */
export const MASS_DELETE_MIN = 20;

/**
 * True when losing `lost` of `total` files at once is a mass deletion: more than {@link MASS_DELETE_MIN} files and
 * more than `maxShare` (0..1) of them. Both guards use it: the daemon before recording, the client before pulling.
 */
export function isMassDeletion(lost: number, total: number, maxShare: number): boolean {
  return lost > MASS_DELETE_MIN && lost > maxShare * total;
}
