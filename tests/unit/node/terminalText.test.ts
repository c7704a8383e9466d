import { describe, expect, test } from "@jest/globals";
import { escapeControl, terminalJson } from "@zync/node";

const CASES: readonly [string, string, string][] = [
  ["plain text is kept", "src/main.ts", "src/main.ts"],
  ["Unicode letters and emoji are kept", "café/日本/🙂.txt", "café/日本/🙂.txt"],
  ["a carriage return", "a\rb", "a\\x0db"],
  ["a newline", "a\nb", "a\\x0ab"],
  ["a tab", "a\tb", "a\\x09b"],
  ["NUL", "a\0b", "a\\x00b"],
  ["an ANSI sequence that clears the line", "\x1b[2Khidden", "\\x1b[2Khidden"],
  ["an OSC title sequence", "\x1b]0;title\x07", "\\x1b]0;title\\x07"],
  ["DEL", "a\x7fb", "a\\x7fb"],
  ["a C1 CSI", "a\u009b31mb", "a\\u009b31mb"],
  ["the first and last C1 characters", "\u0080\u009f", "\\u0080\\u009f"],
  ["a right-to-left override", "bidi\u202etxt.exe", "bidi\\u202etxt.exe"],
  ["a line separator", "a\u2028b", "a\\u2028b"],
  ["a backslash, so escapes cannot be faked", "a\\x1bb", "a\\\\x1bb"],
];

describe("text from the other side made safe for a terminal", () => {
  test.each(CASES)("%s", (_what, input, shown) => {
    expect(escapeControl(input)).toBe(shown);
  });

  test("the result never holds a control character", () => {
    let all = "";
    for (let c = 0; c < 0x2100; c++) all += String.fromCharCode(c);
    expect(escapeControl(all)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });
});

describe("JSON for a terminal", () => {
  test("DEL, C1 and text-reordering marks are written as \\u escapes, and the text parses back to the same value", () => {
    const value = { path: "a\u009bb\x7fc\u202ed\x1b[2Ke\nf", n: 1, list: ["\u0085"] };
    const text = terminalJson(value);
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(text).toContain("\\u009b");
    expect(text).toContain("\\u007f");
    expect(text).toContain("\\u202e");
    expect(JSON.parse(text)).toEqual(value);
  });

  test("it is indented like JSON.stringify(value, null, 2)", () => {
    const value = { a: [1, { b: "x" }] };
    expect(terminalJson(value)).toBe(JSON.stringify(value, null, 2));
  });
});
