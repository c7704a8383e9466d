import { describe, expect, test } from "@jest/globals";
import { renderUserUnit, systemdWord, UsageError } from "@zync/node";

describe("a word written for systemd's ExecStart", () => {
  test.each([
    ["/usr/bin/node", "/usr/bin/node"],
    ["--dirs", "--dirs"],
    ["code:/home/u/code", "code:/home/u/code"],
    ["code:/home/u/my code", '"code:/home/u/my code"'],
    ["100%", '"100%%"'],
    ["%h/x", '"%%h/x"'],
    ["$HOME", '"$$HOME"'],
    ['say "hi"', '"say \\"hi\\""'],
    ["back\\slash", '"back\\\\slash"'],
    ["it's", '"it\'s"'],
    ["*.log", '"*.log"'],
    ["", '""'],
  ])("%j is written %s", (word, written) => {
    expect(systemdWord(word)).toBe(written);
  });

  test.each(["two\nlines", "nul\0", "tab\there"])("%j cannot be written and is refused with a sentence", (word) => {
    expect(() => systemdWord(word)).toThrow(UsageError);
  });
});

test("a user unit runs its argv, restarts on failure and starts with the session", () => {
  const text = renderUserUnit({ description: "zync client (keeps code:/x 100% in step)", argv: ["/usr/bin/node", "/opt/zync/bin/zync-client.js", "--dirs", "code:/a b"], writtenBy: "zync-client service install" });
  expect(text.split("\n")).toEqual([
    "# Written by 'zync-client service install'; run it again to change the flags.",
    "[Unit]",
    "Description=zync client (keeps code:/x 100%% in step)",
    "",
    "[Service]",
    'ExecStart=/usr/bin/node /opt/zync/bin/zync-client.js --dirs "code:/a b"',
    "Restart=on-failure",
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ]);
});
