-- A grant remembers the idempotency keys of its extensions without approval, so a double submit of
-- the Extend form extends it once.
ALTER TABLE "grant" ADD COLUMN     "extension_keys" TEXT[] DEFAULT ARRAY[]::TEXT[];
