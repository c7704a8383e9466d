import { appendFileSync, chmodSync, lstatSync, mkdirSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { posix } from "node:path";
import { seededRandom } from "./seededRandom.js";

/**
 * A small seedable PRNG (mulberry32): the same seed gives the same sequence on every machine, so a failing
 * run can be replayed exactly with ZYNC_FAULT_SEED.
 */
export class Rng {
  readonly seed: number;
  /** A float in [0, 1). */
  readonly next: () => number;

  constructor(seed: number) {
    this.seed = seed;
    this.next = seededRandom(seed >>> 0 || 1);
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [lo, hi]. */
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[this.int(items.length)]!;
  }

  /** A new generator whose sequence depends only on this one's seed and `salt` (for a second actor). */
  fork(salt: number): Rng {
    return new Rng((Math.imul(this.seed ^ 0x9e3779b9, 2654435761) + salt) >>> 0);
  }
}

/** How the fault suite runs, from the environment (see the README's testing section). */
export type FaultSettings = {
  /** Seeds to run: ZYNC_FAULT_SEED alone when given (a replay), else ZYNC_FAULT_RUNS fresh ones. */
  seeds: number[];
  /** Operations per run on E (ZYNC_FAULT_OPS), scaled by each scenario. */
  ops: number;
};

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, not ${JSON.stringify(raw)}`);
  return n;
}

/** Reads the fault suite's settings; `defaultOps` is the short run's size for the calling scenario. */
export function faultSettings(defaultOps: number): FaultSettings {
  const replay = process.env.ZYNC_FAULT_SEED;
  const runs = envInt("ZYNC_FAULT_RUNS", 1);
  const seeds =
    replay !== undefined && replay !== ""
      ? [envInt("ZYNC_FAULT_SEED", 0)]
      : Array.from({ length: Math.max(1, runs) }, () => (Math.random() * 0x1_0000_0000) >>> 0);
  return { seeds, ops: Math.max(10, envInt("ZYNC_FAULT_OPS", defaultOps)) };
}

/** The kind of an entry in the workload's model of the tree. */
export type EntryKind = "file" | "dir" | "symlink";

/** One operation the workload performed, for the failure message. */
export type Op = { n: number; kind: string; path: string; to?: string };

/** What a workload may do; everything is on by default. */
export type WorkloadOptions = {
  /** Symlinks (the target always resolves inside the root). Off for filesystems without links (exFAT). */
  symlinks?: boolean;
  /** chmod of the exec bit. Off for filesystems without permissions (exFAT). */
  execBit?: boolean;
  /** Largest file written, in bytes (most files are far smaller). */
  maxFileSize?: number;
  /** Deepest folder, counted from the root. */
  maxDepth?: number;
  /**
   * Largest share of the tree's files one operation may really delete (a folder removed or replaced). Kept
   * under the client's mass-deletion guard, so a pull that trips it is the product's doing; renames and
   * moves are not limited (content that moves does not disappear).
   */
  maxDeleteShare?: number;
  /**
   * Same-size rewrites with the mtime put back (`cp -p`). Only a stat key with the ctime (or a re-read of
   * racily clean files) can see them; off to test everything else on its own.
   */
  keepMtimeRewrites?: boolean;
  /**
   * Largest share of the tree's files one folder rename may move (1: any folder, the root's biggest too).
   * Lower it to keep moves under the client's mass-deletion guard, which should count only content that
   * really disappears.
   */
  maxMoveShare?: number;
  /**
   * Folders replaced by files and back, and folders removed and made again at once (`rm -rf d && mkdir d`).
   * Off to test everything else on its own.
   */
  typeChanges?: boolean;
  /** Now and then a symlink whose target runs through a file (`ln -s a/x l` where `a` is a file). */
  linksThroughFiles?: boolean;
};

/** Name stems: plain, with spaces, with accents, CJK and an emoji (all NFC), never one an ignore rule matches. */
const STEMS = ["a", "b", "src", "lib", "notes", "data", "build", "x y", "naïve", "café", "日本語", "emoji 🎉", "Ωmega", "über dir", "two  spaces", "z-last"];
const EXTS = ["", ".txt", ".md", ".ts", ".bin", ".json"];

/** Operation weights (relative). */
const WEIGHTS: readonly [string, number][] = [
  ["create", 20],
  ["overwrite", 14],
  ["truncate", 4],
  ["append", 6],
  ["sameSizeKeepMtime", 5],
  ["delete", 8],
  ["mkdir", 5],
  ["rmdir", 3],
  ["renameFile", 7],
  ["renameDir", 3],
  ["dirToFile", 2],
  ["fileToDir", 2],
  ["recreateDir", 2],
  ["chmod", 4],
  ["symlink", 4],
  ["burst", 2],
];

/**
 * A seeded random workload on a real folder. It keeps a model of what it made (path → kind), picks every
 * operation and every name from its PRNG, and applies each with synchronous fs calls, so the same seed on the
 * same starting tree performs the same operations. Nothing else may write to the folder meanwhile.
 */
export class Workload {
  readonly entries = new Map<string, EntryKind>();
  /** Every operation so far, in order (the tail goes into failure messages). */
  readonly ops: Op[] = [];
  private counter = 0;
  /** Every path ever given out by freshName. */
  private readonly used = new Set<string>();
  private readonly opts: Required<WorkloadOptions>;
  readonly root: string;
  readonly rng: Rng;

  constructor(root: string, rng: Rng, opts: WorkloadOptions = {}) {
    this.root = root;
    this.rng = rng;
    this.opts = { symlinks: true, execBit: true, maxFileSize: 256 * 1024, maxDepth: 4, maxDeleteShare: 0.1, keepMtimeRewrites: true, maxMoveShare: 1, linksThroughFiles: true, typeChanges: true, ...opts };
  }

  /** The last `n` operations, one per line. */
  tail(n = 25): string {
    return this.ops
      .slice(-n)
      .map((o) => `#${o.n} ${o.kind} ${JSON.stringify(o.path)}${o.to === undefined ? "" : ` -> ${JSON.stringify(o.to)}`}`)
      .join("\n");
  }

  /** The last operation that touched `rel` (or a folder above it), for explaining a difference. */
  lastOpOn(rel: string): Op | undefined {
    for (let i = this.ops.length - 1; i >= 0; i--) {
      const o = this.ops[i]!;
      for (const p of [o.path, o.to]) if (p !== undefined && (p === rel || rel.startsWith(`${p}/`))) return o;
    }
    return undefined;
  }

  /** Each difference line (`path: ...`) followed by the last operation on that path. */
  explain(diff: readonly string[]): string[] {
    return diff.map((line) => {
      const rel = line.slice(0, line.indexOf(": E="));
      const o = this.lastOpOn(rel);
      return o === undefined ? line : `${line}  [last: #${o.n} ${o.kind}${o.to === undefined ? "" : ` -> ${o.to}`}]`;
    });
  }

  /** Paths of one kind, sorted (so the PRNG's choice does not depend on insertion order). */
  paths(kind: EntryKind): string[] {
    return [...this.entries].filter(([, k]) => k === kind).map(([p]) => p).sort();
  }

  /** Real folders, the root ("") included. */
  dirs(): string[] {
    return ["", ...this.paths("dir")];
  }

  private abs(rel: string): string {
    return rel === "" ? this.root : `${this.root}/${rel}`;
  }

  private record(kind: string, path: string, to?: string): Op {
    const op: Op = { n: this.ops.length + 1, kind, path, ...(to === undefined ? {} : { to }) };
    this.ops.push(op);
    return op;
  }

  /** A name not yet used in `dir`. */
  private freshName(dir: string, file: boolean): string {
    for (let i = 0; ; i++) {
      const stem = this.rng.pick(STEMS);
      const suffix = i < 3 && this.rng.chance(0.5) ? "" : ` ${this.rng.int(40)}`;
      const name = `${stem}${suffix}${file ? this.rng.pick(EXTS) : ""}`;
      const rel = dir === "" ? name : `${dir}/${name}`;
      if (this.entries.has(rel)) continue;
      // Without type changes a name is never used again, not even after a delete: a folder made where
      // one was removed, or a file where a folder was, is a type change too.
      if (!this.opts.typeChanges && this.used.has(rel)) continue;
      this.used.add(rel);
      return rel;
    }
  }

  private depth(rel: string): number {
    return rel === "" ? 0 : rel.split("/").length;
  }

  /** Content that no earlier write produced, `size` bytes long. */
  content(size: number, tag: string): Buffer {
    this.counter++;
    const line = Buffer.from(`${this.rng.seed}:${this.counter}:${tag}:${this.rng.int(1e9)}\n`);
    const buf = Buffer.alloc(size);
    for (let off = 0; off < size; off += line.length) line.copy(buf, off, 0, Math.min(line.length, size - off));
    // A size shorter than one line still differs from the previous write of that size.
    if (size > 0) buf[size - 1] = 0x41 + (this.counter % 26);
    return buf;
  }

  private size(): number {
    const r = this.rng.next();
    if (r < 0.1) return 0;
    if (r < 0.8) return this.rng.between(1, 4096);
    if (r < 0.97) return this.rng.between(4097, 64 * 1024);
    return this.rng.between(64 * 1024, this.opts.maxFileSize);
  }

  private removeModel(rel: string): void {
    for (const p of [...this.entries.keys()]) if (p === rel || p.startsWith(`${rel}/`)) this.entries.delete(p);
  }

  private moveModel(from: string, to: string): void {
    const moved: [string, EntryKind][] = [];
    for (const [p, k] of this.entries) if (p === from || p.startsWith(`${from}/`)) moved.push([p, k]);
    for (const [p] of moved) this.entries.delete(p);
    for (const [p, k] of moved) {
      this.entries.set(to + p.slice(from.length), k);
      this.used.add(to + p.slice(from.length));
    }
  }

  /** Makes a file with new content at a fresh name (in `dir` when given). */
  createFile(dir?: string, size = this.size()): Op {
    const parent = dir ?? this.rng.pick(this.dirs().filter((d) => this.depth(d) < this.opts.maxDepth));
    const rel = this.freshName(parent, true);
    writeFileSync(this.abs(rel), this.content(size, rel));
    this.entries.set(rel, "file");
    return this.record("create", rel);
  }

  /** Makes a new empty folder at a fresh name in the root and returns its path. */
  makeDir(parent = ""): string {
    const rel = this.freshName(parent, false);
    mkdirSync(this.abs(rel));
    this.entries.set(rel, "dir");
    this.record("mkdir", rel);
    return rel;
  }

  /** Deletes a file or link. */
  remove(rel: string): Op {
    unlinkSync(this.abs(rel));
    this.entries.delete(rel);
    return this.record("delete", rel);
  }

  /** Renames a file or link to a fresh name in the same folder and returns the new path. */
  renameInPlace(rel: string): Op {
    const to = this.freshName(posix.dirname(rel).replace(/^\.$/, ""), true);
    renameSync(this.abs(rel), this.abs(to));
    this.moveModel(rel, to);
    return this.record("renameFile", rel, to);
  }

  /** Writes new content over an existing file (the size changes most of the time). */
  overwrite(rel: string, size = this.size()): Op {
    writeFileSync(this.abs(rel), this.content(size, rel));
    return this.record("overwrite", rel);
  }

  /**
   * Rewrites a file with other bytes of the same size and puts its atime and mtime back, as `cp -p` or an
   * editor that restores the mtime would: only the content (and the ctime) changed.
   */
  sameSizeKeepMtime(rel: string): Op {
    const st = statSync(this.abs(rel));
    writeFileSync(this.abs(rel), this.content(st.size === 0 ? 1 : st.size, rel));
    utimesSync(this.abs(rel), st.atime, st.mtime);
    return this.record("sameSizeKeepMtime", rel);
  }

  /** Performs one random operation (falling back to a create when the tree lacks what it needs). */
  step(): Op {
    const files = this.paths("file");
    const dirs = this.paths("dir");
    const limit = Math.max(1, Math.floor(files.length * this.opts.maxDeleteShare));
    const filesUnder = (d: string): number => files.filter((f) => f.startsWith(`${d}/`)).length;
    const removable = dirs.filter((d) => filesUnder(d) <= limit);
    const movable = dirs.filter((d) => filesUnder(d) <= Math.max(1, Math.floor(files.length * this.opts.maxMoveShare)));
    let total = 0;
    for (const [, w] of WEIGHTS) total += w;
    let roll = this.rng.int(total);
    let kind = "create";
    for (const [k, w] of WEIGHTS) {
      if (roll < w) {
        kind = k;
        break;
      }
      roll -= w;
    }
    if (files.length === 0 && ["overwrite", "truncate", "append", "sameSizeKeepMtime", "renameFile", "fileToDir", "chmod"].includes(kind)) kind = "create";
    if (movable.length === 0 && kind === "renameDir") kind = "mkdir";
    if (removable.length === 0 && ["rmdir", "dirToFile", "recreateDir"].includes(kind)) kind = "mkdir";
    if (kind === "chmod" && !this.opts.execBit) kind = "overwrite";
    if (kind === "sameSizeKeepMtime" && !this.opts.keepMtimeRewrites) kind = "overwrite";
    if (["dirToFile", "fileToDir", "recreateDir"].includes(kind) && !this.opts.typeChanges) kind = "create";
    if (kind === "symlink" && !this.opts.symlinks) kind = "create";
    if (kind === "delete" && this.entries.size === dirs.length) kind = "create";
    if (files.length === 0 && kind === "overwrite") kind = "create";
    switch (kind) {
      case "create":
        return this.createFile();
      case "overwrite":
        return this.overwrite(this.rng.pick(files));
      case "truncate": {
        const rel = this.rng.pick(files);
        const size = statSync(this.abs(rel)).size;
        truncateSync(this.abs(rel), size === 0 ? 0 : this.rng.int(size));
        return this.record("truncate", rel);
      }
      case "append": {
        const rel = this.rng.pick(files);
        appendFileSync(this.abs(rel), this.content(this.rng.between(1, 2048), rel));
        return this.record("append", rel);
      }
      case "sameSizeKeepMtime":
        return this.sameSizeKeepMtime(this.rng.pick(files));
      case "delete": {
        const rel = this.rng.pick([...files, ...this.paths("symlink")]);
        unlinkSync(this.abs(rel));
        this.entries.delete(rel);
        return this.record("delete", rel);
      }
      case "mkdir": {
        const parent = this.rng.pick(this.dirs().filter((d) => this.depth(d) < this.opts.maxDepth));
        const rel = this.freshName(parent, false);
        mkdirSync(this.abs(rel));
        this.entries.set(rel, "dir");
        const op = this.record("mkdir", rel);
        if (this.rng.chance(0.7)) this.createFile(rel);
        return op;
      }
      case "rmdir": {
        const rel = this.rng.pick(removable);
        rmSync(this.abs(rel), { recursive: true, force: true });
        this.removeModel(rel);
        return this.record("rmdir", rel);
      }
      case "renameFile": {
        const from = this.rng.pick([...files, ...this.paths("symlink")]);
        const parent = this.rng.chance(0.5) ? posix.dirname(from).replace(/^\.$/, "") : this.rng.pick(this.dirs());
        const to = this.freshName(parent, true);
        renameSync(this.abs(from), this.abs(to));
        this.moveModel(from, to);
        return this.record("renameFile", from, to);
      }
      case "renameDir": {
        const from = this.rng.pick(movable);
        const parents = this.dirs().filter((d) => d !== from && !d.startsWith(`${from}/`) && this.depth(d) < this.opts.maxDepth);
        const to = this.freshName(this.rng.pick(parents), false);
        renameSync(this.abs(from), this.abs(to));
        this.moveModel(from, to);
        return this.record("renameDir", from, to);
      }
      case "dirToFile": {
        const rel = this.rng.pick(removable);
        rmSync(this.abs(rel), { recursive: true, force: true });
        this.removeModel(rel);
        writeFileSync(this.abs(rel), this.content(this.size(), rel));
        this.entries.set(rel, "file");
        return this.record("dirToFile", rel);
      }
      case "fileToDir": {
        const rel = this.rng.pick(files.filter((f) => this.depth(f) < this.opts.maxDepth).concat(files[0]!));
        unlinkSync(this.abs(rel));
        mkdirSync(this.abs(rel));
        this.entries.set(rel, "dir");
        const op = this.record("fileToDir", rel);
        this.createFile(rel);
        return op;
      }
      case "recreateDir": {
        // rm -rf d && mkdir d, then files in it at once: the watcher must notice the new folder's content.
        const rel = this.rng.pick(removable);
        rmSync(this.abs(rel), { recursive: true, force: true });
        this.removeModel(rel);
        mkdirSync(this.abs(rel));
        this.entries.set(rel, "dir");
        const op = this.record("recreateDir", rel);
        const n = this.rng.between(1, 4);
        for (let i = 0; i < n; i++) this.createFile(rel);
        return op;
      }
      case "chmod": {
        const rel = this.rng.pick(files);
        const mode = lstatSync(this.abs(rel)).mode & 0o777;
        chmodSync(this.abs(rel), mode & 0o100 ? 0o644 : 0o755);
        return this.record("chmod", rel);
      }
      case "symlink": {
        const parent = this.rng.pick(this.dirs());
        const rel = this.freshName(parent, true);
        const all = [...this.entries.keys()].sort();
        // A target inside the root: an entry there, a name that does not exist yet, or (rarely) a path that
        // runs through a file.
        let target = all.length > 0 && this.rng.chance(0.8) ? this.rng.pick(all) : `missing ${this.rng.int(10)}`;
        if (files.length > 0 && this.rng.chance(0.1) && this.opts.linksThroughFiles) target = `${this.rng.pick(files)}/x`;
        const relTarget = posix.relative(parent === "" ? "." : parent, target) || ".";
        symlinkSync(relTarget, this.abs(rel));
        this.entries.set(rel, "symlink");
        return this.record("symlink", rel, relTarget);
      }
      case "burst": {
        const dir = this.rng.pick(this.dirs().filter((d) => this.depth(d) < this.opts.maxDepth));
        const n = this.rng.between(5, 30);
        const op = this.record("burst", dir);
        for (let i = 0; i < n; i++) {
          const inDir = this.paths("file").filter((f) => posix.dirname(f) === (dir === "" ? "." : dir));
          if (inDir.length > 0 && this.rng.chance(0.4)) this.overwrite(this.rng.pick(inDir), this.rng.between(1, 2048));
          else this.createFile(dir, this.rng.between(1, 2048));
        }
        return op;
      }
      default:
        throw new Error(`unknown operation ${kind}`);
    }
  }

  /** `n` files and a few folders to start from. */
  populate(n: number): void {
    for (let i = 0; i < n; i++) {
      if (this.rng.chance(0.2) && this.dirs().length < n / 3) {
        const parent = this.rng.pick(this.dirs().filter((d) => this.depth(d) < this.opts.maxDepth));
        const rel = this.freshName(parent, false);
        mkdirSync(this.abs(rel));
        this.entries.set(rel, "dir");
        this.record("mkdir", rel);
      }
      this.createFile(undefined, this.rng.between(0, 4096));
    }
  }

  /**
   * Runs `n` operations. Between them the workload sometimes takes a short think time of its own choosing (a
   * user's pace, not a wait for anything), so a live client works while E changes.
   */
  async churn(n: number, onOp: (op: Op) => void | Promise<void> = () => undefined): Promise<void> {
    for (let i = 0; i < n; i++) {
      await onOp(this.step());
      if (this.rng.chance(0.05)) await new Promise((r) => setTimeout(r, this.rng.int(40)));
      else if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
  }
}

/** E's starting tree for the zync-apply kill tests: folders of files, some large enough that copying them takes a while. */
export function upstreamStartTree(rng: Rng, files: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < files; i++) {
    const size = rng.chance(0.15) ? rng.between(64, 512) * 1024 : rng.between(10, 2000);
    out[`d${i % 6}/f${i}.txt`] = `E's f${i}\n`.padEnd(size, String.fromCharCode(97 + rng.int(26)));
  }
  return out;
}
