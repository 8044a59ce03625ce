import { createReadStream, statSync } from "node:fs";
import { Readable } from "node:stream";
import type { WebClient } from "@slack/web-api";

export interface SlackFileUpload {
  /** The bytes, or a file on disk (streamed, so a large export never sits in memory). */
  content: Buffer | { path: string };
  filename: string;
  title: string;
  altText?: string;
  /** Shared into this channel (and thread); without it the file stays private to the bot, for image blocks. */
  channel?: string;
  threadTs?: string;
  /** The upload's own deadline (the Web API calls have the client's timeout). */
  timeoutMs: number;
}

/**
 * Slack's three-step upload: files.getUploadURLExternal, a POST of the bytes to the URL it
 * gives, files.completeUploadExternal. Returns the file id. WebClient's filesUploadV2 reads
 * the whole file into memory first, which a week's ledger export must not do.
 */
export async function uploadSlackFile(client: WebClient, upload: SlackFileUpload): Promise<string> {
  const length = Buffer.isBuffer(upload.content) ? upload.content.length : statSync(upload.content.path).size;
  const target = await client.files.getUploadURLExternal({ filename: upload.filename, length, ...(upload.altText ? { alt_text: upload.altText } : {}) });
  if (!target.upload_url || !target.file_id) throw new Error("files.getUploadURLExternal returned no upload_url or file_id");
  const body = Buffer.isBuffer(upload.content) ? upload.content : (Readable.toWeb(createReadStream(upload.content.path)) as ReadableStream<Uint8Array>);
  const response = await fetch(target.upload_url, {
    method: "POST",
    headers: { "content-type": "application/octet-stream", "content-length": String(length) },
    body,
    // Required by fetch for a streamed request body.
    ...(Buffer.isBuffer(upload.content) ? {} : { duplex: "half" }),
    signal: AbortSignal.timeout(upload.timeoutMs),
  } as RequestInit);
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new Error(`uploading ${upload.filename} to Slack failed with HTTP ${response.status}`);
  const files = [{ id: target.file_id, title: upload.title }] as [{ id: string; title: string }];
  await client.files.completeUploadExternal(upload.channel ? { files, channel_id: upload.channel, ...(upload.threadTs ? { thread_ts: upload.threadTs } : {}) } : { files });
  return target.file_id;
}
