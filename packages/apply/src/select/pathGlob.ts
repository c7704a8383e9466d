import { minimatch } from "minimatch";

/**
 * True when a glob names a root-relative path: it matches the path itself or one of the folders it lies in, so
 * `src/gen` and `src/gen/**` both name `src/gen/a/b.txt`. Globs are POSIX, `*` stays within one folder, `**` spans
 * folders, and names starting with a dot are matched like any other.
 */
export function globNames(glob: string, path: string): boolean {
  const pattern = glob.replace(/\/+$/, "");
  const segments = path.split("/");
  for (let n = segments.length; n > 0; n--) {
    if (minimatch(segments.slice(0, n).join("/"), pattern, { dot: true })) return true;
  }
  return false;
}
