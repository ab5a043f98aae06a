import { describe, expect, it } from "vitest";
import { humanBytes, localTime, parseHostIds, utcInstant, uuid4 } from "./format";

describe("humanBytes", () => {
  it("keeps bytes whole and gives one decimal from KiB up", () => {
    expect(humanBytes(0)).toBe("0 B");
    expect(humanBytes(1023)).toBe("1023 B");
    expect(humanBytes(1024)).toBe("1.0 KiB");
    expect(humanBytes(1536n)).toBe("1.5 KiB");
    expect(humanBytes(5n * 1024n ** 3n)).toBe("5.0 GiB");
  });
  it("says nothing for a negative size", () => {
    expect(humanBytes(-1)).toBe("—");
  });
});

describe("times", () => {
  it("show the UTC instant without milliseconds for the tooltip", () => {
    expect(utcInstant(new Date("2026-12-05T07:00:01.250Z"))).toBe("2026-12-05T07:00:01Z");
    expect(utcInstant(undefined)).toBe("");
  });
  it("show local time in a fixed layout", () => {
    expect(localTime(new Date(2026, 11, 5, 8, 3, 9))).toBe("2026-12-05 08:03:09");
    expect(localTime(undefined)).toBe("—");
  });
});

describe("parseHostIds", () => {
  it("takes ids separated by commas, spaces or new lines, once each", () => {
    expect(parseHostIds("1001, 1002\n1003，1001")).toEqual({
      ids: [1001n, 1002n, 1003n],
      bad: [],
    });
  });
  it("sets apart what is not a positive id", () => {
    expect(parseHostIds("1001 abc 0 -4")).toEqual({ ids: [1001n], bad: ["abc", "0", "-4"] });
  });
});

describe("uuid4", () => {
  it("is a version 4 UUID", () => {
    expect(uuid4()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
