-- The ledger and its published checkpoints are evidence: the database itself refuses to
-- change or remove them, whatever the application (or someone with its credentials) does.
-- Only a superuser who disables the triggers can edit rows, and `accessbot audit verify`
-- then pinpoints the first entry that no longer matches its hash.

CREATE OR REPLACE FUNCTION accessbot_reject_ledger_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'accessbot: % on % is not allowed: the audit ledger is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'Ledger entries are evidence. Record a correction as a new entry instead of changing an old one.';
END;
$$;

CREATE TRIGGER ledger_entry_append_only
  BEFORE UPDATE OR DELETE ON "ledger_entry"
  FOR EACH ROW EXECUTE FUNCTION accessbot_reject_ledger_change();

CREATE TRIGGER ledger_entry_no_truncate
  BEFORE TRUNCATE ON "ledger_entry"
  FOR EACH STATEMENT EXECUTE FUNCTION accessbot_reject_ledger_change();

CREATE TRIGGER ledger_checkpoint_append_only
  BEFORE UPDATE OR DELETE ON "ledger_checkpoint"
  FOR EACH ROW EXECUTE FUNCTION accessbot_reject_ledger_change();

CREATE TRIGGER ledger_checkpoint_no_truncate
  BEFORE TRUNCATE ON "ledger_checkpoint"
  FOR EACH STATEMENT EXECUTE FUNCTION accessbot_reject_ledger_change();
