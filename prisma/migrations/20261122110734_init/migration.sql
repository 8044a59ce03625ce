-- CreateEnum
CREATE TYPE "RequestStatus" AS ENUM ('PENDING', 'APPROVED', 'DENIED', 'CANCELLED', 'EXPIRED', 'UNSATISFIABLE');

-- CreateEnum
CREATE TYPE "GrantStatus" AS ENUM ('ACTIVE', 'EXPIRED', 'REVOKED');

-- CreateEnum
CREATE TYPE "VoteDecision" AS ENUM ('APPROVE', 'DENY');

-- CreateTable
CREATE TABLE "access_request" (
    "id" TEXT NOT NULL,
    "team_id" TEXT NOT NULL,
    "requester_id" TEXT NOT NULL,
    "requester_name" TEXT NOT NULL,
    "resource" TEXT NOT NULL,
    "duration_seconds" INTEGER NOT NULL,
    "reason" TEXT NOT NULL,
    "status" "RequestStatus" NOT NULL DEFAULT 'PENDING',
    "policy_sha256" CHAR(64) NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "pending_until" TIMESTAMPTZ(3) NOT NULL,
    "decided_at" TIMESTAMPTZ(3),
    "decided_by" TEXT,
    "deny_reason" TEXT,

    CONSTRAINT "access_request_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "vote" (
    "id" BIGSERIAL NOT NULL,
    "request_id" TEXT NOT NULL,
    "voter_id" TEXT NOT NULL,
    "voter_name" TEXT NOT NULL,
    "decision" "VoteDecision" NOT NULL,
    "ledger_seq" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "vote_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "grant" (
    "id" TEXT NOT NULL,
    "request_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "resource" TEXT NOT NULL,
    "status" "GrantStatus" NOT NULL DEFAULT 'ACTIVE',
    "activated_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "ended_at" TIMESTAMPTZ(3),
    "ended_by" TEXT,

    CONSTRAINT "grant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "request_message" (
    "id" BIGSERIAL NOT NULL,
    "request_id" TEXT NOT NULL,
    "channel_id" TEXT NOT NULL,
    "ts" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "recipient_id" TEXT,

    CONSTRAINT "request_message_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "policy_version" (
    "sha256" CHAR(64) NOT NULL,
    "text" TEXT NOT NULL,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "policy_version_pkey" PRIMARY KEY ("sha256")
);

-- CreateTable
CREATE TABLE "ledger_entry" (
    "seq" BIGINT NOT NULL,
    "ts" TIMESTAMPTZ(3) NOT NULL,
    "type" TEXT NOT NULL,
    "request_id" TEXT,
    "actor_id" TEXT,
    "subject_id" TEXT,
    "resource" TEXT,
    "body" TEXT NOT NULL,
    "prev_hash" CHAR(64) NOT NULL,
    "hash" CHAR(64) NOT NULL,

    CONSTRAINT "ledger_entry_pkey" PRIMARY KEY ("seq")
);

-- CreateTable
CREATE TABLE "audit_sink_cursor" (
    "sink" TEXT NOT NULL,
    "delivered_seq" BIGINT NOT NULL DEFAULT 0,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_sink_cursor_pkey" PRIMARY KEY ("sink")
);

-- CreateTable
CREATE TABLE "ledger_checkpoint" (
    "id" BIGSERIAL NOT NULL,
    "seq" BIGINT NOT NULL,
    "hash" CHAR(64) NOT NULL,
    "channel_id" TEXT,
    "message_ts" TEXT,
    "webhook_ok" BOOLEAN,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ledger_checkpoint_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "access_request_idempotency_key_key" ON "access_request"("idempotency_key");

-- CreateIndex
CREATE INDEX "access_request_requester_id_resource_created_at_idx" ON "access_request"("requester_id", "resource", "created_at");

-- CreateIndex
CREATE INDEX "access_request_status_pending_until_idx" ON "access_request"("status", "pending_until");

-- CreateIndex
CREATE UNIQUE INDEX "vote_request_id_voter_id_key" ON "vote"("request_id", "voter_id");

-- CreateIndex
CREATE UNIQUE INDEX "grant_request_id_key" ON "grant"("request_id");

-- CreateIndex
CREATE INDEX "grant_status_expires_at_idx" ON "grant"("status", "expires_at");

-- CreateIndex
CREATE INDEX "grant_user_id_resource_activated_at_idx" ON "grant"("user_id", "resource", "activated_at");

-- CreateIndex
CREATE INDEX "request_message_request_id_idx" ON "request_message"("request_id");

-- CreateIndex
CREATE UNIQUE INDEX "request_message_channel_id_ts_key" ON "request_message"("channel_id", "ts");

-- CreateIndex
CREATE UNIQUE INDEX "ledger_entry_hash_key" ON "ledger_entry"("hash");

-- CreateIndex
CREATE INDEX "ledger_entry_request_id_idx" ON "ledger_entry"("request_id");

-- CreateIndex
CREATE INDEX "ledger_entry_ts_idx" ON "ledger_entry"("ts");

-- CreateIndex
CREATE INDEX "ledger_checkpoint_seq_idx" ON "ledger_checkpoint"("seq");

-- AddForeignKey
ALTER TABLE "vote" ADD CONSTRAINT "vote_request_id_fkey" FOREIGN KEY ("request_id") REFERENCES "access_request"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "grant" ADD CONSTRAINT "grant_request_id_fkey" FOREIGN KEY ("request_id") REFERENCES "access_request"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "request_message" ADD CONSTRAINT "request_message_request_id_fkey" FOREIGN KEY ("request_id") REFERENCES "access_request"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
