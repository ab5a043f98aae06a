import { afterEach, describe, expect, it, vi } from "vitest";
import { createI18n } from "vue-i18n";
import en from "./en";
import zh from "./zh-CN";

/** Every message key, dotted. */
function keys(obj: object, prefix = ""): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    typeof v === "object" && v !== null ? keys(v as object, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

describe("messages", () => {
  afterEach(() => vi.restoreAllMocks());

  it("have the same keys in Chinese and English", () => {
    expect(keys(en).sort()).toEqual(keys(zh).sort());
  });

  it("all compile in both languages (a bare @ or | is vue-i18n syntax)", () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const warned = vi.spyOn(console, "warn").mockImplementation(() => {});
    for (const locale of ["zh-CN", "en"] as const) {
      const i18n = createI18n({ legacy: false, locale, messages: { "zh-CN": zh, en } });
      for (const key of keys(zh)) {
        const text = i18n.global.t(key, { n: 1, name: "x", zone: "UTC", id: 1, msg: "m", items: "a", files: 1, size: "1 B", shown: 1, total: 2, done: 1, node: "m" });
        expect(text, `${locale} ${key}`).not.toBe(key);
      }
    }
    expect(logged).not.toHaveBeenCalled();
    expect(warned).not.toHaveBeenCalled();
  });
});
