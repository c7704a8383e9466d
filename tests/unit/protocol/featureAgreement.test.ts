import { describe, expect, test } from "@jest/globals";
import { agreeFeatures } from "@zync/protocol";

const since = { later: 4 };

describe("which features a connection agrees", () => {
  test.each([
    ["the offer and the daemon's list share some", ["push", "delta"], ["delta", "push", "compress"], 3, ["delta", "push"]],
    ["unknown names in the offer are dropped", ["teleport", "delta"], ["delta"], 3, ["delta"]],
    ["nothing offered", [], ["delta", "push"], 3, []],
    ["a daemon listing a name twice agrees it once", ["delta"], ["delta", "delta"], 4, ["delta"]],
    ["a version-4 feature is not agreed on a version-3 connection", ["later", "delta"], ["later", "delta"], 3, ["delta"]],
    ["a version-4 feature is agreed on a version-4 connection", ["later", "delta"], ["later", "delta"], 4, ["later", "delta"]],
  ])("%s", (_what, offered, supported, version, agreed) => {
    expect(agreeFeatures(offered, supported, version, since)).toEqual(agreed);
  });
});
