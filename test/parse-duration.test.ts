import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DurationError,
  MAX_DURATION_SECONDS,
  formatDuration,
  looksLikeDuration,
  parseDuration,
} from "../src/domain/parse-duration.js";

const M = 60;
const H = 3600;
const D = 86400;

function durationError(input: string): DurationError {
  try {
    parseDuration(input);
  } catch (error) {
    assert.ok(error instanceof DurationError, `expected DurationError for ${JSON.stringify(input)}`);
    return error;
  }
  assert.fail(`expected ${JSON.stringify(input.slice(0, 40))} to be rejected`);
}

describe("parseDuration: accepted forms", () => {
  const cases: Array<[string, number]> = [
    ["30m", 30 * M],
    ["1m", M],
    ["2h", 2 * H],
    ["1d", D],
    ["1h30m", H + 30 * M],
    ["1h 30m", H + 30 * M],
    ["1d4h", D + 4 * H],
    ["1d 4h", D + 4 * H],
    ["1d2h3m", D + 2 * H + 3 * M],
    ["90m", 90 * M],
    ["2H", 2 * H],
    ["  45m  ", 45 * M],
    ["0h30m", 30 * M],
    ["365d", 365 * D],
    ["PT2H", 2 * H],
    ["PT90M", 90 * M],
    ["P1D", D],
    ["P1DT2H", D + 2 * H],
    ["P1DT2H30M", D + 2 * H + 30 * M],
    ["pt2h", 2 * H],
    ["P2W", 14 * D],
    ["PT0H30M", 30 * M],
  ];
  for (const [input, seconds] of cases) {
    it(`${JSON.stringify(input)} → ${seconds}s`, () => assert.equal(parseDuration(input), seconds));
  }

  it("accepts exactly the maximum and reports it as 365d", () => {
    assert.equal(parseDuration("365d"), MAX_DURATION_SECONDS);
    assert.equal(formatDuration(MAX_DURATION_SECONDS), "365d");
  });
});

describe("parseDuration: rejected input", () => {
  const rejected = [
    "0m",
    "0h",
    "0d0h0m",
    "PT0M",
    "P0D",
    "-1h",
    "-30m",
    "99999d",
    "366d",
    "P366D",
    "8761h",
    "1.5h",
    "1,5h",
    ".5d",
    "",
    "   ",
    "10",
    "90s",
    "30 m",
    "PT30S",
    "P1M",
    "P30M",
    "P1Y",
    "2w",
    "1y",
    "30m2h",
    "1h1h",
    "h",
    "P",
    "PT",
    "P1DT",
    "2hours",
    "30min",
    "1h30",
    "abc",
    "２ｈ",
    "2\u200bh",
    "١h",
    "🕐",
    "1h; DROP TABLE",
    "9".repeat(400) + "d",
    "1h".repeat(5000),
  ];
  for (const input of rejected) {
    it(`rejects ${JSON.stringify(input.length > 20 ? `${input.slice(0, 20)}… (${input.length} chars)` : input)}`, () => {
      const error = durationError(input);
      assert.equal(error.code, "INVALID_DURATION");
      assert.equal(error.input, input);
      assert.equal(error.message, error.userMessage);
      assert.match(error.userMessage, /is not a valid duration: .*use minutes, hours or days like 30m, 2h or 1d \(at least 1 minute\)\.$/);
    });
  }

  it("gives the exact sentence for 0m", () => {
    assert.equal(
      durationError("0m").userMessage,
      "“0m” is not a valid duration: use minutes, hours or days like 30m, 2h or 1d (at least 1 minute).",
    );
  });

  it("says why, where it can tell", () => {
    assert.match(durationError("-1h").userMessage, /cannot be negative/);
    assert.match(durationError("99999d").userMessage, /longer than the maximum of 365d/);
    assert.match(durationError("1.5h").userMessage, /whole numbers \(for example 90m\)/);
    assert.match(durationError("10").userMessage, /no unit \(did you mean 10m or 10h\?\)/);
    assert.match(durationError("90s").userMessage, /seconds are not accepted/);
    assert.match(durationError("P30M").userMessage, /months \(write PT30M for 30 minutes\)/);
    assert.match(durationError("2w").userMessage, /weeks are not accepted/);
    assert.match(durationError("").userMessage, /it is empty/);
  });

  it("keeps a 10 KB input out of the message and answers quickly", () => {
    const huge = "1".repeat(10 * 1024) + "h";
    const started = performance.now();
    const error = durationError(huge);
    assert.ok(performance.now() - started < 50, "parsing a 10 KB string must be fast");
    assert.ok(error.userMessage.length < 200, `message too long: ${error.userMessage.length}`);
    assert.match(error.userMessage, /…/);
  });

  it("does not echo Slack control sequences or invisible characters", () => {
    const error = durationError("<!channel>*2h*\u202e");
    assert.doesNotMatch(error.userMessage, /[<>*\u202e]/);
  });

  it("refuses non-string input at runtime", () => {
    assert.throws(() => parseDuration(5 as unknown as string), DurationError);
  });
});

describe("formatDuration", () => {
  const cases: Array<[number, string]> = [
    [2 * H, "2h"],
    [H + 30 * M, "1h 30m"],
    [D + 4 * H, "1d 4h"],
    [45 * M, "45m"],
    [D + 30 * M, "1d 30m"],
    [D + 2 * H + 3 * M, "1d 2h 3m"],
    [0, "0m"],
    [59, "<1m"],
    [H + 59, "1h"],
  ];
  for (const [seconds, text] of cases) {
    it(`${seconds}s → ${text}`, () => assert.equal(formatDuration(seconds), text));
  }

  it("round-trips through parseDuration for whole minutes", () => {
    for (let minutes = 1; minutes <= 3 * 24 * 60; minutes += 7) {
      assert.equal(parseDuration(formatDuration(minutes * M)), minutes * M);
    }
    assert.equal(parseDuration(formatDuration(MAX_DURATION_SECONDS)), MAX_DURATION_SECONDS);
  });

  it("rejects negative and non-finite input", () => {
    assert.throws(() => formatDuration(-1), RangeError);
    assert.throws(() => formatDuration(Number.NaN), RangeError);
    assert.throws(() => formatDuration(Number.POSITIVE_INFINITY), RangeError);
  });
});

describe("looksLikeDuration", () => {
  it("is true for every valid duration", () => {
    for (const token of ["30m", "2h", "1d", "1h30m", "1d4h", "PT2H", "PT90M", "P1D", "P1DT2H", "pt2h", "P2W"]) {
      assert.equal(looksLikeDuration(token), true, token);
    }
  });

  it("is true for mistyped durations, so they get a duration error instead of joining the reason", () => {
    for (const token of ["99999d", "0m", "-1h", "1.5h", "90s", "10", "2hours", "30min", "2w", "P30M", "PT30S", "+2h", "1h30"]) {
      assert.equal(looksLikeDuration(token), true, token);
      assert.throws(() => parseDuration(token), DurationError, token);
    }
  });

  it("is false for ordinary first words of a reason", () => {
    for (const token of ["deploy", "2fa", "3rd", "4pm", "10am", "v2", "#123", "p2p", "P", "PT", "hotfix", "", "24/7", "100%", "PR-1234"]) {
      assert.equal(looksLikeDuration(token), false, token);
    }
  });

  it("stays fast on long input", () => {
    const started = performance.now();
    looksLikeDuration("1".repeat(10 * 1024) + "x");
    looksLikeDuration("1h".repeat(5000) + "!");
    assert.ok(performance.now() - started < 50);
  });
});
