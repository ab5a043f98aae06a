import { describe, expect, it } from "vitest";
import { csvCell, toCsv } from "./csv";

describe("csv", () => {
  it("quotes cells with commas, quotes and line breaks", () => {
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell("two\nlines")).toBe('"two\nlines"');
    expect(csvCell(42n)).toBe("42");
  });
  it("defuses cells a spreadsheet would run as a formula", () => {
    expect(csvCell("=cmd()")).toBe("'=cmd()");
    expect(csvCell("-1")).toBe("'-1");
    expect(csvCell(-1)).toBe("-1");
  });
  it("writes a BOM, a header row and CRLF lines", () => {
    const text = toCsv([{ p: "/data/a.log", n: 3 }], [
      { header: "路径", value: (r) => r.p },
      { header: "size", value: (r) => r.n },
    ]);
    expect(text).toBe("\uFEFF路径,size\r\n/data/a.log,3\r\n");
  });
});
