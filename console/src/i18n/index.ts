// Chinese by default (the console's users are), English by the header's switch; the choice is
// remembered in localStorage.
import { createI18n } from "vue-i18n";
import en from "./en";
import zh from "./zh-CN";

export type Locale = "zh-CN" | "en";
const KEY = "bklb.locale";

export function savedLocale(): Locale {
  return localStorage.getItem(KEY) === "en" ? "en" : "zh-CN";
}

export const i18n = createI18n({
  legacy: false,
  locale: savedLocale(),
  fallbackLocale: "zh-CN",
  messages: { "zh-CN": zh, en },
});

export function setLocale(l: Locale): void {
  i18n.global.locale.value = l;
  localStorage.setItem(KEY, l);
  document.documentElement.lang = l;
}
