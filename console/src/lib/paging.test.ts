import { describe, expect, it } from "vitest";
import { KeysetPager } from "./paging";

describe("KeysetPager", () => {
  it("walks forward with each page's token and back to pages already seen", () => {
    const p = new KeysetPager();
    expect([p.current, p.page, p.hasPrevious, p.hasNext]).toEqual(["", 1, false, false]);
    p.loaded("t2");
    expect(p.hasNext).toBe(true);
    expect(p.next()).toBe("t2");
    expect(p.page).toBe(2);
    p.loaded("t3");
    expect(p.next()).toBe("t3");
    p.loaded("");
    expect([p.page, p.hasNext, p.hasPrevious]).toEqual([3, false, true]);
    expect(p.previous()).toBe("t2");
    expect(p.hasNext).toBe(true);
    expect(p.previous()).toBe("");
    expect(p.page).toBe(1);
    expect(p.hasPrevious).toBe(false);
  });

  it("forgets later pages when a page is fetched again and says it is the last", () => {
    const p = new KeysetPager();
    p.loaded("t2");
    p.next();
    p.loaded("t3");
    p.previous();
    p.loaded("");
    expect(p.hasNext).toBe(false);
    expect(() => p.next()).toThrow();
  });

  it("starts again at page one when reset", () => {
    const p = new KeysetPager();
    p.loaded("t2");
    p.next();
    p.reset();
    expect([p.current, p.page, p.hasNext, p.hasPrevious]).toEqual(["", 1, false, false]);
  });
});
