// Keyset paging as the list RPCs do it: each page is fetched with the token the previous page
// returned. The pager remembers the token of every page reached so far, so "previous" is a
// refetch of a known page, and any change of filters starts again at page one (a token issued
// for other filters is INVALID_ARGUMENT).

export class KeysetPager {
  /** tokens[i] fetches page i + 1; tokens[0] is "" (the first page). */
  private tokens: string[] = [""];
  private index = 0;
  private nextToken = "";

  /** The token that fetches the current page. */
  get current(): string {
    return this.tokens[this.index] ?? "";
  }

  /** 1-based number of the current page. */
  get page(): number {
    return this.index + 1;
  }

  get hasPrevious(): boolean {
    return this.index > 0;
  }

  get hasNext(): boolean {
    return this.nextToken !== "";
  }

  /** Records the current page's `next_page_token` once it has been fetched. */
  loaded(nextPageToken: string): void {
    this.nextToken = nextPageToken;
    this.tokens.length = this.index + 1;
    if (nextPageToken !== "") this.tokens.push(nextPageToken);
  }

  /** Moves to the next page; the token to fetch it with. */
  next(): string {
    if (!this.hasNext) throw new Error("no next page");
    this.index += 1;
    this.nextToken = "";
    return this.current;
  }

  /** Moves to the previous page; the token to fetch it with. */
  previous(): string {
    if (!this.hasPrevious) throw new Error("no previous page");
    this.index -= 1;
    this.nextToken = this.tokens[this.index + 1] ?? "";
    return this.current;
  }

  /** Back to page one (filters changed). */
  reset(): void {
    this.tokens = [""];
    this.index = 0;
    this.nextToken = "";
  }
}
