/** What the instrumented transport reports; BotMetrics implements it. */
export interface SlackCallObserver {
  observeSlackCall(method: string, result: string, seconds: number): void;
  observeRateLimit(method: string, retryAfterSeconds: number): void;
}

/**
 * The Web API client's `fetch`, wrapped so that every call of every client Bolt makes from
 * our clientOptions (listeners', jobs', provisioners') is counted by method and result. A
 * 200 is read from a clone, off the caller's path; its `ok`/`error` is the result. Labels are
 * bounded, whatever the server answers: unknown shapes become `other`.
 */
export function instrumentSlackFetch(observer: SlackCallObserver, options: { onAnswered?: () => void; fetch?: typeof globalThis.fetch } = {}): typeof globalThis.fetch {
  const base = options.fetch ?? globalThis.fetch;
  return async (input, init) => {
    const method = slackMethodOf(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    let response: Response;
    try {
      response = await base(input, init);
    } catch (error) {
      const name = (error as { name?: string }).name;
      observer.observeSlackCall(method, name === "TimeoutError" || name === "AbortError" ? "timeout" : "network", seconds());
      throw error;
    }
    if (response.status === 429) {
      const retryAfter = Number(response.headers.get("retry-after"));
      observer.observeRateLimit(method, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 0);
      observer.observeSlackCall(method, "ratelimited", seconds());
    } else if (response.status !== 200) {
      observer.observeSlackCall(method, `http_${response.status}`, seconds());
    } else {
      response
        .clone()
        .json()
        .then(
          (body: unknown) => {
            const answer = body as { ok?: unknown; error?: unknown } | null;
            if (answer?.ok === true) options.onAnswered?.();
            const error = typeof answer?.error === "string" && /^[a-z_]{1,48}$/.test(answer.error) ? answer.error : "other";
            observer.observeSlackCall(method, answer?.ok === true ? "ok" : error, seconds());
          },
          () => observer.observeSlackCall(method, "invalid_response", seconds()),
        );
    }
    return response;
  };
}

/** `https://slack.com/api/chat.postMessage` → `chat.postMessage`. */
export function slackMethodOf(url: string): string {
  const last = url.split("?")[0]!.split("/").pop() ?? "";
  return /^[A-Za-z][A-Za-z.]{0,63}$/.test(last) ? last : "other";
}
