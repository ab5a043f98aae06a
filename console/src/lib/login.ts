// Where to log in and where to come back to. BlueKing's login page takes the page to return to
// as `c_url`; the demo's login form takes `next` (a path of the console) or the same `c_url`,
// and returns only to the console's own origin, so a crafted link cannot send a person away.

/** `loginUrl` with `c_url` set to `here` (the page the person was on). */
export function loginHref(loginUrl: string, here: string): string {
  try {
    const url = new URL(loginUrl, here);
    url.searchParams.set("c_url", here);
    return url.toString();
  } catch {
    return loginUrl;
  }
}

/** The console path a login should return to: `next` or `c_url` of the same origin, else `/search`. */
export function returnPath(query: Record<string, unknown>, origin: string): string {
  const next = query["next"];
  if (typeof next === "string" && next.startsWith("/") && !next.startsWith("//")) return next;
  const c = query["c_url"];
  if (typeof c === "string") {
    try {
      const url = new URL(c);
      if (url.origin === origin && url.pathname !== "/login") return `${url.pathname}${url.search}${url.hash}`;
    } catch {
      // not a URL: ignored
    }
  }
  return "/search";
}
