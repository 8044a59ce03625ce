/** A published head of the chain: the hash the ledger had at `seq`, recorded somewhere else. */
export interface LedgerCheckpointRef {
  seq: bigint;
  hash: string;
  /** Where it came from, for messages: "ledger_checkpoint #4 (Slack C0123/1732270000.000100)", "--checkpoint". */
  source: string;
}
