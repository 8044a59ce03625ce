/** Levenshtein distance; names are short, so the quadratic table is fine. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The names closest to what was typed: prefix and substring matches first, then small typos. */
export function suggestClosest(typed: string, names: readonly string[], limit = 3): string[] {
  const needle = typed.toLowerCase();
  return names
    .map((name) => {
      const lower = name.toLowerCase();
      const bonus = lower.startsWith(needle) || needle.startsWith(lower) ? -2 : lower.includes(needle) ? -1 : 0;
      return { name, score: editDistance(needle, lower) + bonus };
    })
    .filter((entry) => entry.score <= Math.max(2, Math.floor(entry.name.length / 2)))
    .sort((a, b) => a.score - b.score || a.name.localeCompare(b.name))
    .slice(0, limit)
    .map((entry) => entry.name);
}
