import { describe, expect, test } from "@jest/globals";
import {
  decodeFromClient,
  decodeFromServer,
  encodeMessage,
  ErrorCode,
  ProtocolError,
  toProtocolError,
  type Decoded,
  type FromClientMessage,
  type FromServerMessage,
} from "@zync/protocol";
import { DELETED, dirState, fileState, H1, linkState } from "../../helpers/states.js";

/** Asserts a refusal that explains itself in words. */
function expectRefused(d: Decoded<unknown>): string {
  expect(d.ok).toBe(false);
  if (d.ok) throw new Error("accepted");
  expect(typeof d.error).toBe("string");
  expect(d.error.length).toBeGreaterThan(10);
  expect(d.error).toMatch(/^[a-z].* [a-z]/i); // words, not a stack or an object dump
  return d.error;
}

const CLIENT_MESSAGES: readonly FromClientMessage[] = [
  { type: "HELLO", versions: [1], clientId: "r-123", live: true },
  { type: "HELLO", versions: [2, 1], clientId: "x" },
  { type: "HELLO", versions: [3], clientId: "x", nonce: "0123456789abcdef".repeat(4) },
  { type: "AUTH", proof: "ab".repeat(32) },
  { type: "PING", id: 0 },
  { type: "GET_LAST_SEQUENCE", id: 4294967295 },
  { type: "GET_CHANGES", id: 7, since: 0 },
  { type: "GET_CHANGES", id: 8, since: 12, root: "code", limit: 100 },
  { type: "GET_FILE", id: 9, root: "code", path: "src/main file ü.ts", hash: H1 },
  { type: "GET_DELTA", id: 11, root: "code", path: "big.bin", hash: H1, blockSize: 10240, baseSize: 104857600 },
  { type: "ACK_CHANGES", id: 10, seq: 99 },
];

const SERVER_MESSAGES: readonly FromServerMessage[] = [
  { type: "CHALLENGE", version: 3, nonce: "fedcba9876543210".repeat(4) },
  { type: "WELCOME", version: 3, epoch: "0b8c7a", head: 5, horizon: 0, roots: ["code", "docs"], features: [], halted: [{ root: "docs", reason: "the root is gone", since: 1 }], proof: "cd".repeat(32) },
  { type: "PONG", id: 1 },
  { type: "LAST_SEQUENCE", id: 2, seq: 5 },
  {
    type: "CHANGES",
    id: 3,
    changes: [
      { seq: 1, root: "code", path: "a", state: dirState() },
      { seq: 2, root: "code", path: "a/f.txt", state: fileState(H1, { mode: 0o755 }) },
      { seq: 3, root: "code", path: "a/l", state: linkState("../outside") },
      { seq: 4, root: "code", path: "gone", state: DELETED },
    ],
    next: 4,
    head: 4,
    more: false,
  },
  { type: "FILE_END", id: 4, size: 0, hash: H1, mode: 0o644, mtimeMs: 0 },
  { type: "ACKED", id: 5, seq: 4 },
  { type: "CHANGED", head: 6 },
  { type: "HALTED", halted: [] },
  { type: "ERROR", id: 6, code: "NOT_FOUND", message: "no such file" },
  { type: "ERROR", code: "UNAUTHORIZED", message: "bad token" },
];

describe("decoding client messages", () => {
  test.each(CLIENT_MESSAGES.map((m) => [m.type, m] as const))("a well-formed %s survives encode and decode unchanged", (_t, m) => {
    expect(decodeFromClient(encodeMessage(m))).toEqual({ ok: true, message: m });
  });

  const hostile: readonly [string, string][] = [
    ["not JSON", "HELLO please"],
    ["an empty frame", ""],
    ["truncated JSON", '{"type":"PING","id":1'],
    ["an array", "[]"],
    ["an array of messages", '[{"type":"PING","id":1}]'],
    ["null", "null"],
    ["a number", "42"],
    ["a string", '"PING"'],
    ["a boolean", "true"],
    ["an object without a type", '{"id":1}'],
    ["an unknown type", '{"type":"DELETE_EVERYTHING","id":1}'],
    ["a type in the wrong case", '{"type":"ping","id":1}'],
    ["a type that is not a string", '{"type":1,"id":1}'],
    ["an id that is a string", '{"type":"PING","id":"1"}'],
    ["an id that is negative", '{"type":"PING","id":-1}'],
    ["an id that is fractional", '{"type":"PING","id":1.5}'],
    ["an id above 32 bits", '{"type":"PING","id":4294967296}'],
    ["an id that overflows to Infinity", '{"type":"PING","id":1e400}'],
    ["a since beyond safe integers", '{"type":"GET_CHANGES","id":1,"since":9007199254740993}'],
    ["a since of 1e308", '{"type":"GET_CHANGES","id":1,"since":1e308}'],
    ["a zero limit", '{"type":"GET_CHANGES","id":1,"since":0,"limit":0}'],
    ["an extra field", '{"type":"PING","id":1,"extra":true}'],
    ["a __proto__ field", '{"type":"PING","id":1,"__proto__":{"admin":true}}'],
    ["a constructor field", '{"type":"PING","id":1,"constructor":{"prototype":{}}}'],
    ["a missing required field", '{"type":"GET_FILE","id":1,"root":"code"}'],
    ["a GET_DELTA with a block size of 0", '{"type":"GET_DELTA","id":1,"root":"code","path":"x","blockSize":0,"baseSize":10}'],
    ["a GET_DELTA with a block size over the limit", '{"type":"GET_DELTA","id":1,"root":"code","path":"x","blockSize":1048577,"baseSize":10}'],
    ["a GET_DELTA without its base size", '{"type":"GET_DELTA","id":1,"root":"code","path":"x","blockSize":4096}'],
    ["a path with '..'", '{"type":"GET_FILE","id":1,"root":"code","path":"../etc/passwd"}'],
    ["a path with '..' in the middle", '{"type":"GET_FILE","id":1,"root":"code","path":"a/../../b"}'],
    ["an absolute path", '{"type":"GET_FILE","id":1,"root":"code","path":"/etc/passwd"}'],
    ["a path with a backslash", '{"type":"GET_FILE","id":1,"root":"code","path":"..\\\\x"}'],
    ["a path with NUL", '{"type":"GET_FILE","id":1,"root":"code","path":"a\\u0000b"}'],
    ["an over-long path", `{"type":"GET_FILE","id":1,"root":"code","path":"${"a".repeat(5000)}"}`],
    ["a root name with '..'", '{"type":"GET_FILE","id":1,"root":"..","path":"x"}'],
    ["a root name with a slash", '{"type":"GET_CHANGES","id":1,"since":0,"root":"a/b"}'],
    ["a hash that is not 16 lowercase hex digits", `{"type":"GET_FILE","id":1,"root":"code","path":"x","hash":"${H1.toUpperCase()}A"}`],
    ["HELLO without versions", '{"type":"HELLO","versions":[],"clientId":"x"}'],
    ["HELLO with too many versions", `{"type":"HELLO","versions":[${Array(17).fill(1).join(",")}],"clientId":"x"}`],
    ["HELLO with an empty client id", '{"type":"HELLO","versions":[1],"clientId":""}'],
    ["HELLO with a huge client id", `{"type":"HELLO","versions":[1],"clientId":"${"x".repeat(129)}"}`],
    ["HELLO with live as a string", '{"type":"HELLO","versions":[1],"clientId":"x","live":"yes"}'],
    ["deeply nested arrays", `${"[".repeat(100_000)}${"]".repeat(100_000)}`],
    ["a deeply nested field", `{"type":"HELLO","versions":${"[".repeat(100_000)}${"]".repeat(100_000)},"clientId":"x"}`],
    ["a server message", '{"type":"PONG","id":1}'],
    ["AUTH without a proof", '{"type":"AUTH"}'],
    ["AUTH with a proof that is not 64 lowercase hex digits", `{"type":"AUTH","proof":"${"A".repeat(64)}"}`],
    ["AUTH that carries the token itself", '{"type":"AUTH","proof":"' + "a".repeat(64) + '","token":"s3cret"}'],
    ["HELLO with a short nonce", `{"type":"HELLO","versions":[2],"clientId":"x","nonce":"${"a".repeat(31)}"}`],
  ];

  test.each(hostile)("%s is refused with a sentence, without throwing", (_what, text) => {
    let d: Decoded<FromClientMessage> | undefined;
    expect(() => (d = decodeFromClient(text))).not.toThrow();
    expectRefused(d!);
  });

  test("the refusal names the field at fault", () => {
    expect(expectRefused(decodeFromClient('{"type":"GET_FILE","id":1,"root":"code","path":"a/../b"}'))).toMatch(/\bpath\b/);
    expect(expectRefused(decodeFromClient('{"type":"PING","id":"x"}'))).toMatch(/\bid\b/);
    expect(expectRefused(decodeFromClient("{nope"))).toMatch(/JSON/);
  });

  test("a decoded message carries no fields beyond the schema's", () => {
    const d = decodeFromClient('{"type":"PING","id":3}');
    expect(d.ok && Object.keys(d.message)).toEqual(["type", "id"]);
  });
});

describe("decoding server messages", () => {
  test.each(SERVER_MESSAGES.map((m, i) => [`${m.type} #${i}`, m] as const))("a well-formed %s survives encode and decode unchanged", (_t, m) => {
    expect(decodeFromServer(encodeMessage(m))).toEqual({ ok: true, message: m });
  });

  const change = (over: Record<string, unknown>): string =>
    JSON.stringify({
      type: "CHANGES",
      id: 1,
      changes: [{ seq: 1, root: "code", path: "a", state: { kind: "deleted" }, ...over }],
      next: 1,
      head: 1,
      more: false,
    });

  const hostile: readonly [string, string][] = [
    ["not JSON", "<html>502 Bad Gateway</html>"],
    ["an array", "[1,2,3]"],
    ["null", "null"],
    ["an unknown type", '{"type":"REBOOT"}'],
    ["a client message", '{"type":"PING","id":1}'],
    ["WELCOME with an extra field", '{"type":"WELCOME","version":1,"epoch":"e","head":0,"horizon":0,"roots":[],"x":1}'],
    ["WELCOME with an empty epoch", '{"type":"WELCOME","version":1,"epoch":"","head":0,"horizon":0,"roots":[]}'],
    ["WELCOME with a bad root name", '{"type":"WELCOME","version":1,"epoch":"e","head":0,"horizon":0,"roots":["../x"]}'],
    ["WELCOME with a huge head", '{"type":"WELCOME","version":1,"epoch":"e","head":1e300,"horizon":0,"roots":[]}'],
    ["WELCOME with version 0", '{"type":"WELCOME","version":0,"epoch":"e","head":0,"horizon":0,"roots":[]}'],
    ["WELCOME without the daemon's proof", '{"type":"WELCOME","version":2,"epoch":"e","head":0,"horizon":0,"roots":[]}'],
    ["CHALLENGE that leaks root names", `{"type":"CHALLENGE","version":2,"nonce":"${"a".repeat(64)}","roots":["code"]}`],
    ["CHANGES with a '..' path", change({ path: "../../.ssh/authorized_keys" })],
    ["CHANGES with a path through '..'", change({ path: "a/../../b" })],
    ["CHANGES with an absolute path", change({ path: "/etc/passwd" })],
    ["CHANGES with a backslash path", change({ path: "a\\b" })],
    ["CHANGES with an empty path", change({ path: "" })],
    ["CHANGES with a bad root", change({ root: "" })],
    ["CHANGES with an unknown kind", change({ state: { kind: "fifo" } })],
    ["CHANGES with a file without a hash", change({ state: { kind: "file", size: 1, mode: 420, mtimeMs: 0 } })],
    ["CHANGES with an upper-case hash", change({ state: { kind: "file", hash: "ABCDEF0123456789", size: 1, mode: 420, mtimeMs: 0 } })],
    ["CHANGES with a negative size", change({ state: { kind: "file", hash: H1, size: -1, mode: 420, mtimeMs: 0 } })],
    ["CHANGES with a mode beyond 0o7777", change({ state: { kind: "file", hash: H1, size: 1, mode: 0o10000, mtimeMs: 0 } })],
    ["CHANGES with a fractional mtime", change({ state: { kind: "file", hash: H1, size: 1, mode: 420, mtimeMs: 1.5 } })],
    ["CHANGES with an extra state field", change({ state: { kind: "deleted", hash: H1 } })],
    ["CHANGES with an extra change field", change({ extra: 1 })],
    ["CHANGES with an empty link target", change({ state: { kind: "symlink", target: "" } })],
    ["CHANGES with NUL in a link target", change({ state: { kind: "symlink", target: "a\0b" } })],
    ["CHANGES with a negative seq", change({ seq: -1 })],
    ["CHANGES without more", '{"type":"CHANGES","id":1,"changes":[],"next":0,"head":0}'],
    ["CHANGES whose changes is an object", '{"type":"CHANGES","id":1,"changes":{},"next":0,"head":0,"more":false}'],
    ["FILE_END with an mtime beyond safe integers", '{"type":"FILE_END","id":1,"size":0,"hash":"1111111111111111","mode":420,"mtimeMs":1e308}'],
    ["FILE_END with a bad hash", '{"type":"FILE_END","id":1,"size":0,"hash":"xyz","mode":420,"mtimeMs":0}'],
    ["ERROR with an unknown code", '{"type":"ERROR","code":"OOPS","message":"x"}'],
    ["ERROR with a huge message", JSON.stringify({ type: "ERROR", code: "INTERNAL", message: "x".repeat(4097) })],
    ["CHANGED with a string head", '{"type":"CHANGED","head":"7"}'],
    ["HALTED with a root name that is a path", '{"type":"HALTED","halted":[{"root":"../x","reason":"r","since":0}]}'],
    ["HALTED with a huge reason", JSON.stringify({ type: "HALTED", halted: [{ root: "code", reason: "x".repeat(501), since: 0 }] })],
  ];

  test.each(hostile)("%s is refused with a sentence, without throwing", (_what, text) => {
    let d: Decoded<FromServerMessage> | undefined;
    expect(() => (d = decodeFromServer(text))).not.toThrow();
    expectRefused(d!);
  });

  test("every wire error code can be carried by ERROR", () => {
    for (const code of Object.values(ErrorCode)) {
      const d = decodeFromServer(encodeMessage(new ProtocolError(code, "why").toWire(3)));
      expect(d).toEqual({ ok: true, message: { type: "ERROR", id: 3, code, message: "why" } });
    }
  });
});

describe("protocol errors", () => {
  test("toWire leaves out the id when there is none", () => {
    expect(new ProtocolError(ErrorCode.BadPath, "p").toWire()).toEqual({ type: "ERROR", code: "BAD_PATH", message: "p" });
  });

  test("an over-long message is cut so the ERROR still decodes", () => {
    const wire = new ProtocolError(ErrorCode.Internal, "x".repeat(10_000)).toWire(1);
    expect(wire.message.length).toBeLessThanOrEqual(4096);
    expect(decodeFromServer(encodeMessage(wire)).ok).toBe(true);
  });

  test("toProtocolError keeps a ProtocolError and turns anything else into INTERNAL", () => {
    const pe = new ProtocolError(ErrorCode.NotFound, "gone");
    expect(toProtocolError(pe)).toBe(pe);
    const wrapped = toProtocolError(new Error("disk on fire"));
    expect(wrapped.code).toBe(ErrorCode.Internal);
    expect(wrapped.message).toBe("disk on fire");
    expect(toProtocolError("plain string").message).toBe("plain string");
  });
});
