import { describe, expect, test } from "@jest/globals";
import { judgePush, PushedContent, type ContentSource, type PushOutcome } from "@zync/client";
import { hashBytes } from "@zync/node";
import { MAX_PUSHED_FILE_BYTES, type Push } from "@zync/protocol";

const ID = 0x80000001;

/** A fallback that serves `text` and counts how often it was asked. */
function fallback(text: string): ContentSource & { asked: number } {
  const src = {
    asked: 0,
    fetch: async (_path: string, _hash: string, sink: (d: Uint8Array) => Promise<void>) => {
      src.asked++;
      const data = Buffer.from(text);
      await sink(data);
      return { hash: await hashBytes(data), size: data.length, mode: 0o644, mtimeMs: 1 };
    },
    classify: () => ({ kind: "fatal" as const }),
  };
  return src;
}

async function pageFor(path: string, text: string): Promise<Push> {
  const hash = await hashBytes(Buffer.from(text));
  return {
    type: "PUSH",
    root: "code",
    since: 4,
    next: 5,
    changes: [{ seq: 5, root: "code", path, state: { kind: "file", hash, size: Buffer.byteLength(text), mode: 0o644, mtimeMs: 1 } }],
    streams: [{ id: ID, path }],
  };
}

async function fetched(src: ContentSource, path: string, hash: string): Promise<string> {
  const parts: Uint8Array[] = [];
  await src.fetch(path, hash, (d) => {
    parts.push(d);
    return Promise.resolve();
  });
  return Buffer.concat(parts).toString("utf8");
}

describe("pushed content", () => {
  test("a pushed file that arrived whole and verified is served without a fetch", async () => {
    const pushed = new PushedContent();
    const page = await pageFor("a.txt", "pushed\n");
    const got = pushed.page(page);
    if (typeof got === "string") throw new Error(got);
    const hash = (page.changes[0]!.state as { hash: string }).hash;
    expect(pushed.data(ID, Buffer.from("pushed\n"))).toBe(true);
    expect(pushed.end(ID, { type: "FILE_END", id: ID, size: 7, hash, mode: 0o644, mtimeMs: 1 })).toBe(true);
    const fb = fallback("fetched\n");
    expect(await fetched(pushed.source(got, fb), "a.txt", hash)).toBe("pushed\n");
    expect(fb.asked).toBe(0);
  });

  test("pushed bytes that do not hash to what the daemon announced are never served: the file is fetched", async () => {
    const pushed = new PushedContent();
    const page = await pageFor("a.txt", "pushed\n");
    const got = pushed.page(page) as Exclude<ReturnType<PushedContent["page"]>, string>;
    const hash = (page.changes[0]!.state as { hash: string }).hash;
    pushed.data(ID, Buffer.from("pusheD\n"));
    pushed.end(ID, { type: "FILE_END", id: ID, size: 7, hash, mode: 0o644, mtimeMs: 1 });
    const fb = fallback("pushed\n");
    expect(await fetched(pushed.source(got, fb), "a.txt", hash)).toBe("pushed\n");
    expect(fb.asked).toBe(1);
  });

  test("a stream the daemon ended with ERROR, or one larger than a push may carry, is fetched", async () => {
    for (const spoil of ["error", "large"] as const) {
      const pushed = new PushedContent();
      const page = await pageFor("a.txt", "pushed\n");
      const got = pushed.page(page) as Exclude<ReturnType<PushedContent["page"]>, string>;
      const hash = (page.changes[0]!.state as { hash: string }).hash;
      if (spoil === "error") pushed.end(ID, { type: "ERROR", id: ID, code: "CHANGED_WHILE_READING", message: "torn" });
      else {
        pushed.data(ID, Buffer.alloc(MAX_PUSHED_FILE_BYTES + 1));
        pushed.end(ID, { type: "FILE_END", id: ID, size: MAX_PUSHED_FILE_BYTES + 1, hash, mode: 0o644, mtimeMs: 1 });
      }
      const fb = fallback("pushed\n");
      expect(await fetched(pushed.source(got, fb), "a.txt", hash)).toBe("pushed\n");
      expect(fb.asked).toBe(1);
    }
  });

  test("a push that carries content for a path that is not one of its file changes, or reuses a stream, breaks the protocol", async () => {
    const pushed = new PushedContent();
    const page = await pageFor("a.txt", "x");
    expect(typeof pushed.page({ ...page, streams: [{ id: ID, path: "other.txt" }] })).toBe("string");
    expect(typeof pushed.page(page)).toBe("object");
    expect(typeof pushed.page(page)).toBe("string");
    expect(pushed.data(ID + 5, Buffer.from("x"))).toBe(false);
  });
});

describe("whether a push is applied", () => {
  const cases: [string, { since: number; next: number }, { seq: number; resync: boolean }, boolean, PushOutcome["kind"]][] = [
    ["continues from R's cursor", { since: 10, next: 12 }, { seq: 10, resync: false }, true, "applied"],
    ["leaves a gap after R's cursor", { since: 11, next: 12 }, { seq: 10, resync: false }, true, "pull"],
    ["starts before R's cursor and ends after it", { since: 8, next: 12 }, { seq: 10, resync: false }, true, "pull"],
    ["ends at or before R's cursor (a pull already brought it)", { since: 8, next: 10 }, { seq: 10, resync: false }, true, "covered"],
    ["arrives during a full comparison", { since: 10, next: 12 }, { seq: 10, resync: true }, true, "pull"],
    ["comes from a daemon database R does not follow", { since: 10, next: 12 }, { seq: 10, resync: false }, false, "pull"],
  ];
  test.each(cases)("a push that %s", (_name, page, cursor, sameEpoch, want) => {
    expect(judgePush(page, cursor, sameEpoch)).toBe(want);
  });
});
