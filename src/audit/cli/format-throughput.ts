/** "12.3 s: 81,234 entries/s, 88.1 MB/s" (MB = 10^6 bytes of prev_hash ‖ body hashed). */
export function formatThroughput(entries: number, bytes: number, milliseconds: number): string {
  const seconds = Math.max(milliseconds, 1) / 1000;
  return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s: ${Math.round(entries / seconds).toLocaleString("en-US")} entries/s, ${(bytes / 1e6 / seconds).toFixed(1)} MB/s`;
}
