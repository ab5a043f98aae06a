import { describe, expect, it } from "vitest";
import { loginHref, returnPath } from "./login";

describe("login links", () => {
  it("names the page to come back to as BlueKing's c_url", () => {
    expect(loginHref("https://paas.example.com/login/", "http://console:50052/backups/1?x=2")).toBe(
      "https://paas.example.com/login/?c_url=http%3A%2F%2Fconsole%3A50052%2Fbackups%2F1%3Fx%3D2",
    );
    expect(loginHref("/login", "http://console:50052/records")).toBe("http://console:50052/login?c_url=http%3A%2F%2Fconsole%3A50052%2Frecords");
  });

  it("returns only to the console's own pages", () => {
    const origin = "http://console:50052";
    expect(returnPath({ next: "/records?page=2" }, origin)).toBe("/records?page=2");
    expect(returnPath({ c_url: "http://console:50052/backups/1" }, origin)).toBe("/backups/1");
    expect(returnPath({ next: "//evil.example/x" }, origin)).toBe("/search");
    expect(returnPath({ c_url: "https://evil.example/backups/1" }, origin)).toBe("/search");
    expect(returnPath({ c_url: "http://console:50052/login" }, origin)).toBe("/search");
    expect(returnPath({ c_url: "not a url" }, origin)).toBe("/search");
    expect(returnPath({}, origin)).toBe("/search");
  });
});
