-- Durable jobs, provisioning lifecycle (PROVISIONING/FAILED grants), break-glass reviews and
-- replica-safe audit sink leases.
-- CreateEnum
CREATE TYPE "ReviewStatus" AS ENUM ('OPEN', 'OK', 'ESCALATED');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "GrantStatus" ADD VALUE 'PROVISIONING';
ALTER TYPE "GrantStatus" ADD VALUE 'FAILED';

-- AlterTable
ALTER TABLE "access_request" ADD COLUMN     "break_glass" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "extends_grant_id" TEXT,
ADD COLUMN     "reminded_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "audit_sink_cursor" ADD COLUMN     "lease_owner" TEXT,
ADD COLUMN     "lease_until" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "grant" ADD COLUMN     "deprovisioned_at" TIMESTAMPTZ(3),
ADD COLUMN     "end_reason" TEXT,
ADD COLUMN     "extensions" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "provisioner" TEXT,
ADD COLUMN     "warned_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "job" (
    "id" BIGSERIAL NOT NULL,
    "kind" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "lane" TEXT,
    "dedupe_key" TEXT,
    "run_at" TIMESTAMPTZ(3) NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "locked_by" TEXT,
    "locked_until" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "done_at" TIMESTAMPTZ(3),
    "outcome" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "provisioner_state" (
    "resource" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "state" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "provisioner_state_pkey" PRIMARY KEY ("resource","user_id")
);

-- CreateTable
CREATE TABLE "break_glass_review" (
    "request_id" TEXT NOT NULL,
    "review_group" TEXT NOT NULL,
    "status" "ReviewStatus" NOT NULL DEFAULT 'OPEN',
    "due_at" TIMESTAMPTZ(3) NOT NULL,
    "next_reminder_at" TIMESTAMPTZ(3),
    "reminders" INTEGER NOT NULL DEFAULT 0,
    "reviewer_id" TEXT,
    "reviewed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "break_glass_review_pkey" PRIMARY KEY ("request_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "job_dedupe_key_key" ON "job"("dedupe_key");

-- CreateIndex
CREATE INDEX "job_done_at_run_at_idx" ON "job"("done_at", "run_at");

-- CreateIndex
CREATE INDEX "job_lane_done_at_idx" ON "job"("lane", "done_at");

-- CreateIndex
CREATE INDEX "break_glass_review_status_next_reminder_at_idx" ON "break_glass_review"("status", "next_reminder_at");

-- CreateIndex
CREATE INDEX "access_request_status_created_at_idx" ON "access_request"("status", "created_at");


