// Who is using the page and on which business. The login is BlueKing's `bk_token` cookie: in
// BlueKing it is set by the login page on the parent domain (and may be HttpOnly, so the page
// never reads it); in the demo the login form sets it for this origin. The chosen business is
// remembered per browser.
import { ref, watch } from "vue";
import { forgetAll } from "./lib/progress";

export function setToken(token: string): void {
  forgetAll(sessionStorage);
  const secure = window.location.protocol === "https:" ? "; Secure" : "";
  document.cookie = `bk_token=${encodeURIComponent(token)}; path=/; SameSite=Lax${secure}`;
}

export function clearToken(): void {
  forgetAll(sessionStorage);
  document.cookie = "bk_token=; path=/; max-age=0; SameSite=Lax";
}

const BIZ_KEY = "bklb.biz";

/** The business the pages work on ("" until one is chosen). */
export const business = ref<string>(localStorage.getItem(BIZ_KEY) ?? "");
watch(business, (b) => localStorage.setItem(BIZ_KEY, b));

export function businessId(): bigint | undefined {
  return /^[1-9]\d*$/.test(business.value) ? BigInt(business.value) : undefined;
}
