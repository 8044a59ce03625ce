// A realistic ledger for benchmarks: 5-event request lifecycles (created, two votes with the
// blocks the approvers saw, grant, expiry) through the real body builder and canonical JSON.
import pg from "pg";
import { canonicalJson } from "../../src/ledger/canonical-json.js";
import { buildEntryBody, computeEntryHash, GENESIS_HASH, sha256OfCanonical, type LedgerEventInput } from "../../src/ledger/ledger-hash.js";
import type { LedgerRecord } from "../../src/ledger/ledger-record.js";

const BATCH = 5000;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

// ---------------------------------------------------------------------------------------------
// Realistic events: what one request produces, with ids and text varying per request.

const POLICY = "aa462e8ef978d49fea9bf23b4ffcef5999c5ca8d9dac3e507a937c108c5291d9";
const RESOURCES = ["prod-db", "billing-admin", "k8s-prod", "payments-api", "support-console"];
const REASONS = ["fixing INC-4411: replica lag on the orders cluster", "quarterly access review follow-up", "deploy hotfix for checkout timeouts", "customer escalation, ticket SUP-2231", "rotate the service credentials after the audit"];

function user(id: string, name: string): LedgerEventInput["actor"] {
  return { kind: "user", user_id: id, team_id: "T024BE7LD", name, profile: { real_name: `${name[0]!.toUpperCase()}${name.slice(1)} Example`, display_name: name, email: `${name}@example.com` } };
}

function blocks(requestId: string, requester: string, resource: string, reason: string, status: string) {
  return [
    { type: "header", text: { type: "plain_text", text: `Access request ${requestId}: ${resource}` } },
    { type: "section", fields: [{ type: "mrkdwn", text: `*Requester*\n<@${requester}>` }, { type: "mrkdwn", text: "*Duration*\n2h" }, { type: "mrkdwn", text: `*Status*\n${status}` }] },
    { type: "section", text: { type: "plain_text", text: `Reason: ${reason}`, emoji: false } },
    { type: "actions", elements: [{ type: "button", action_id: "approve", style: "primary", text: { type: "plain_text", text: "Approve" }, value: requestId }, { type: "button", action_id: "deny", style: "danger", text: { type: "plain_text", text: "Deny" }, value: requestId }] },
  ];
}

/** The n-th event (0-based) of a ledger made of 5-event request lifecycles. */
function eventAt(n: number): LedgerEventInput {
  const request = Math.floor(n / 5);
  const requestId = `AR-${request.toString(32).toUpperCase().padStart(8, "0")}`;
  const requester = `U0ENG${String(request % 500).padStart(5, "0")}`;
  const resource = RESOURCES[request % RESOURCES.length]!;
  const reason = `${REASONS[request % REASONS.length]!} (#${request})`;
  const common = { requestId, subjectId: requester, resource };
  const sre = `U0SRE${String(request % 40).padStart(5, "0")}`;
  const sec = `U0SEC${String(request % 12).padStart(5, "0")}`;
  switch (n % 5) {
    case 0:
      return { ...common, type: "request.created", actor: user(requester, `eng${request % 500}`), data: { resource_title: `${resource} (production)`, duration_seconds: 7200, reason, pending_until: new Date(Date.UTC(2026, 0, 1) + n * 1000 + 3_600_000).toISOString(), policy_sha256: POLICY, rules: [{ group: "sre-leads", count: 1 }, { group: "security", count: 1 }], allow_self_approval: false, eligible_approvers: [sre, sec] } };
    case 1:
    case 2: {
      const first = n % 5 === 1;
      const seen = blocks(requestId, requester, resource, reason, first ? "Waiting for approval" : "sre-leads: 1 of 1");
      return {
        ...common,
        type: "vote.approved",
        actor: user(first ? sre : sec, first ? `sre${request % 40}` : `sec${request % 12}`),
        data: {
          decision: "approve",
          counted_toward: first ? "sre-leads" : "security",
          voter_groups: [first ? "sre-leads" : "security"],
          evaluation: { satisfied: !first, rules: [{ group: "sre-leads", required: 1, filled: 1, approvers: [sre] }, { group: "security", required: 1, filled: first ? 0 : 1, approvers: first ? [] : [sec] }], missing: first ? [{ group: "security", missing: 1 }] : [] },
          policy_sha256: POLICY,
          seen: { blocks: seen, sha256: sha256OfCanonical(seen) },
        },
      };
    }
    case 3:
      return { ...common, type: "grant.activated", actor: { kind: "system", name: "accessbot" }, data: { grant_id: `GR-${request.toString(32).toUpperCase().padStart(8, "0")}`, activated_at: "2026-01-01T00:00:00.000Z", expires_at: "2026-01-01T02:00:00.000Z", duration_seconds: 7200, approvers: { [sre]: "sre-leads", [sec]: "security" }, policy_sha256: POLICY } };
    default:
      return { ...common, type: "grant.expired", actor: { kind: "system", name: "accessbot" }, data: { grant_id: `GR-${request.toString(32).toUpperCase().padStart(8, "0")}`, expires_at: "2026-01-01T02:00:00.000Z", ended_at: "2026-01-01T02:00:00.000Z" } };
  }
}

/** prev_hash ‖ body of every entry, kept as UTF-8 bytes for the raw sha256 baseline. */
export interface HashedBytes {
  chunks: Buffer[];
  offsets: Uint32Array[];
}

/**
 * The ledger's records in seq order from 1 (one second apart from 2026-01-01), chained from
 * genesis: what generateLedger inserts, also used in memory by the chunk benchmark.
 */
export function* ledgerRecords(entries: number): Generator<LedgerRecord> {
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= entries; seq++) {
    const event = eventAt(seq - 1);
    const at = new Date(Date.UTC(2026, 0, 1) + seq * 1000);
    const body = canonicalJson(buildEntryBody(event, BigInt(seq), at));
    const hash = computeEntryHash(prev, body);
    yield { seq: BigInt(seq), ts: at.toISOString(), type: event.type, requestId: event.requestId ?? null, actorId: event.actor.user_id ?? null, subjectId: event.subjectId ?? null, resource: event.resource ?? null, body, prevHash: prev, hash };
    prev = hash;
  }
}

/**
 * Generates `entries` valid chained entries (seq 1…, one second apart from 2026-01-01) and
 * bulk-inserts them into `ledger_entry` through `client`.
 */
export async function generateLedger(client: pg.Client, entries: number, log: (text: string) => void): Promise<{ bytes: HashedBytes; bodyBytes: number; headHash: string }> {
  const bytes: HashedBytes = { chunks: [], offsets: [] };
  let prev = GENESIS_HASH;
  let bodyBytes = 0;
  let inFlight: Promise<unknown> = Promise.resolve();
  const started = performance.now();
  const records = ledgerRecords(entries);
  for (let start = 1; start <= entries; start += BATCH) {
    const end = Math.min(entries, start + BATCH - 1);
    const columns: (string | null)[][] = Array.from({ length: 10 }, () => []);
    const hashed: string[] = [];
    const offsets = new Uint32Array(end - start + 2);
    let offset = 0;
    for (let seq = start; seq <= end; seq++) {
      const record = records.next().value as LedgerRecord;
      const { body } = record;
      const values = [String(seq), record.ts, record.type, record.requestId, record.actorId, record.subjectId, record.resource, body, record.prevHash, record.hash];
      values.forEach((value, index) => columns[index]!.push(value));
      hashed.push(record.prevHash + body);
      offsets[seq - start] = offset;
      offset += 64 + Buffer.byteLength(body);
      bodyBytes += Buffer.byteLength(body);
      prev = record.hash;
    }
    offsets[end - start + 1] = offset;
    bytes.chunks.push(Buffer.from(hashed.join(""), "utf8"));
    bytes.offsets.push(offsets);
    // One insert in flight while the next batch is generated: the server and this process
    // work at the same time. unnest() turns ten arrays into rows in one statement.
    await inFlight;
    inFlight = client.query(
      `INSERT INTO ledger_entry (seq, ts, type, request_id, actor_id, subject_id, resource, body, prev_hash, hash)
       SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])`,
      columns,
    );
    if ((end / BATCH) % 40 === 0 || end === entries) log(`  generated and inserted ${fmt(end)} entries (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  await inFlight;
  return { bytes, bodyBytes, headHash: prev };
}

