-- Who can change the ledger, and checkpoints that cannot be forged.
--
-- The triggers of 20261122120000_ledger_append_only refuse UPDATE, DELETE and TRUNCATE of
-- ledger_entry and ledger_checkpoint whoever asks, but they bind only roles that cannot remove
-- them. The comment in that migration says only a superuser can; that is wrong (and the file
-- cannot be corrected: its checksum is recorded). The role that OWNS the tables, with no
-- superuser attribute at all, may ALTER TABLE … DISABLE TRIGGER, DROP TRIGGER, TRUNCATE and
-- rewrite the chain consistently. So exactly these can change the ledger:
--   * a superuser;
--   * the owner role: the role that ran the migrations (accessbot_owner after
--     `accessbot db setup-roles`; the bot's own role if it migrates itself at start-up);
--   * nobody else. The bot should run as a runtime role that is not the owner (setup-roles
--     creates accessbot_app): SELECT and INSERT on ledger_entry, SELECT on ledger_checkpoint
--     and _prisma_migrations, and checkpoints only through accessbot_record_checkpoint below.
-- A rewrite by the owner or a superuser is not prevented; it is detected by `accessbot audit
-- verify --checkpoint` against a head published outside the database (the audit channel),
-- back to the last published checkpoint. Entries after that checkpoint are not covered.
--
-- Future migrations: a table created by the owner is readable and writable by the runtime role
-- (setup-roles sets default privileges). A new table that must be protected like the ledger
-- needs its own REVOKE, like the block at the end of this file.

-- Records a published head. SECURITY DEFINER: it runs with its owner's rights, so a role with
-- no INSERT on ledger_checkpoint can record a checkpoint, but only one whose (seq, hash) is an
-- entry of the ledger: a forged head is refused with SQLSTATE 23503. search_path is pinned to
-- the schema being migrated, then pg_temp (listed last so that a temporary table cannot shadow
-- ledger_entry), as SECURITY DEFINER functions must. Returns the new row's id.
DO $migration$
BEGIN
  EXECUTE replace($create$
CREATE FUNCTION accessbot_record_checkpoint(p_seq BIGINT, p_hash TEXT, p_channel_id TEXT, p_message_ts TEXT, p_webhook_ok BOOLEAN)
RETURNS BIGINT
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = @schema@, pg_temp
AS $body$
DECLARE
  recorded BIGINT;
BEGIN
  IF p_seq IS NULL OR p_hash IS NULL OR NOT EXISTS (SELECT 1 FROM ledger_entry WHERE seq = p_seq AND hash = p_hash) THEN
    RAISE EXCEPTION 'accessbot: no ledger entry has seq % and hash %; a checkpoint must name an entry of the ledger', p_seq, p_hash
      USING ERRCODE = 'foreign_key_violation',
            HINT = 'Checkpoints are the heads the bot published; they are recorded by accessbot_record_checkpoint only.';
  END IF;
  INSERT INTO ledger_checkpoint (seq, hash, channel_id, message_ts, webhook_ok)
    VALUES (p_seq, p_hash, p_channel_id, p_message_ts, p_webhook_ok)
    RETURNING id INTO recorded;
  RETURN recorded;
END;
$body$
$create$, '@schema@', quote_ident(current_schema()));
END;
$migration$;

-- Only roles granted EXECUTE (the runtime role, by setup-roles) and the owner may call it.
REVOKE ALL ON FUNCTION accessbot_record_checkpoint(BIGINT, TEXT, TEXT, TEXT, BOOLEAN) FROM PUBLIC;

-- If setup-roles ran before the first migration, its default privileges gave the runtime role
-- SELECT, INSERT, UPDATE and DELETE on these tables when they were created. Whatever granted
-- them, every role but the owner keeps only SELECT (and INSERT on ledger_entry).
DO $migration$
DECLARE
  granted RECORD;
BEGIN
  FOR granted IN
    SELECT c.oid::regclass AS tbl, c.relname, acl.grantee, acl.privilege_type
    FROM pg_class c, aclexplode(c.relacl) acl
    WHERE c.oid IN (to_regclass('ledger_entry'), to_regclass('ledger_checkpoint'), to_regclass('"_prisma_migrations"'))
      AND acl.grantee <> c.relowner
      AND acl.privilege_type <> 'SELECT'
      AND NOT (c.relname = 'ledger_entry' AND acl.privilege_type = 'INSERT')
  LOOP
    EXECUTE format('REVOKE %s ON TABLE %s FROM %s', granted.privilege_type, granted.tbl,
      CASE WHEN granted.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(granted.grantee)) END);
  END LOOP;
END;
$migration$;
