/** A date Slack renders in each reader's own timezone, with a UTC fallback for old clients. */
export function formatSlackDate(date: Date, format = "{date_short_pretty} {time}"): string {
  const fallback = `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return `<!date^${Math.floor(date.getTime() / 1000)}^${format}|${fallback}>`;
}
