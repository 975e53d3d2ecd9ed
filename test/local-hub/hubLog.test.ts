import { escapeLogText, escapingLog } from "../../local-hub/hubLog";
import { parseRequestTarget } from "../../local-hub/http/requestTarget";
import { IotHubError } from "../../local-hub/errors/iotHubError";

// What the hub writes about what clients sent: one line per log call whatever the text held, and request targets
// exactly as sent. (The running hub's log and paths are checked in untrustedInput.test.ts and tokenScope.test.ts.)

describe("log lines", () => {
  it("escape line breaks, C0/C1 controls, DEL and the Unicode line separators, and leave other text as it is", () => {
    expect(escapeLogText("a\nb\rc\td\u0000e\u001b[2Jf\u007fg\u0085h\u2028i\u2029j")).toBe(
      "a\\x0ab\\x0dc\\x09d\\x00e\\x1b[2Jf\\x7fg\\x85h\\u2028i\\u2029j",
    );
    expect(escapeLogText("mqtt: refused d1/m1: ünïcode ok")).toBe("mqtt: refused d1/m1: ünïcode ok");
  });

  it("escape the backslash too, so a client cannot spell an escape that reads like one of the hub's", () => {
    expect(escapeLogText("fake\\x0aline")).toBe("fake\\\\x0aline");
    expect(escapeLogText("real\nline")).not.toBe(escapeLogText("real\\x0aline"));
  });

  it("reach the sink one line per call", () => {
    const written: string[] = [];
    escapingLog((line) => written.push(line))("refused evil\n[forged] line");
    expect(written).toEqual(["refused evil\\x0a[forged] line"]);
  });
});

describe("request targets", () => {
  it("keep the path as sent (no '.'/'..' resolution) and decode each segment once", () => {
    expect(parseRequestTarget("/devices/d1/../d2?api-version=2021-04-12")).toMatchObject({
      path: "/devices/d1/../d2",
      segments: ["devices", "d1", "..", "d2"],
    });
    expect(parseRequestTarget("/devices/%2e%2e/a%252Fb/").segments).toEqual(["devices", "..", "a%2Fb"]);
    expect(parseRequestTarget("/devices?api-version=2021-04-12&top=5").query.get("top")).toBe("5");
  });

  it("refuse a path that is not valid percent-encoding with 400 ArgumentInvalid naming the path", () => {
    expect(() => parseRequestTarget("/devices/%E0%A4%A")).toThrow(IotHubError);
    expect(() => parseRequestTarget("/devices/%E0%A4%A")).toThrow("path: must be valid percent-encoding");
  });
});
