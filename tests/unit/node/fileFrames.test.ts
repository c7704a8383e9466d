import { afterAll, describe, expect, test } from "@jest/globals";
import { appendFileSync, closeSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { hashBytes, sendFileFrames } from "@zync/node";
import { ErrorCode, FILE_CHUNK_BYTES } from "@zync/protocol";
import { removeTempDirs, tempDir } from "../../helpers/tempDir.js";

afterAll(removeTempDirs);

/** A file of three chunks and a bit. */
function bigFile(): string {
  const path = `${tempDir("zync-frames-")}/f.bin`;
  writeFileSync(path, Buffer.alloc(FILE_CHUNK_BYTES * 3 + 17, 1));
  return path;
}

describe("sendFileFrames detects torn reads", () => {
  test("a file read while nothing touches it is sent whole, with the hash of its bytes", async () => {
    const path = bigFile();
    let frames = 0;
    const sent = await sendFileFrames(path, 7, () => Promise.resolve(void frames++));
    expect(frames).toBe(4);
    expect(sent).toMatchObject({ size: FILE_CHUNK_BYTES * 3 + 17, hash: await hashBytes(readFileSync(path)) });
  });

  test("a file that grows while it is read fails with CHANGED_WHILE_READING", async () => {
    const path = bigFile();
    let first = true;
    const send = (): Promise<void> => {
      if (first) appendFileSync(path, "more");
      first = false;
      return Promise.resolve();
    };
    await expect(sendFileFrames(path, 7, send)).rejects.toMatchObject({ code: ErrorCode.ChangedWhileReading });
  });

  test("a same-size rewrite in place while it is read fails with CHANGED_WHILE_READING", async () => {
    const path = bigFile();
    let first = true;
    const send = (): Promise<void> => {
      if (first) {
        const fd = openSync(path, "r+");
        writeSync(fd, Buffer.alloc(10, 2), 0, 10, FILE_CHUNK_BYTES * 2);
        closeSync(fd);
      }
      first = false;
      return Promise.resolve();
    };
    await expect(sendFileFrames(path, 7, send)).rejects.toMatchObject({ code: ErrorCode.ChangedWhileReading });
  });

  test("a file truncated while it is read fails with CHANGED_WHILE_READING", async () => {
    const path = bigFile();
    let first = true;
    const send = (): Promise<void> => {
      if (first) writeFileSync(path, "short");
      first = false;
      return Promise.resolve();
    };
    await expect(sendFileFrames(path, 7, send)).rejects.toMatchObject({ code: ErrorCode.ChangedWhileReading });
  });
});
