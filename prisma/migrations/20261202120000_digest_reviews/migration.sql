-- One row per posted digest: what was posted (the report and its sha256), where (the message
-- and its reminder copies, the chart and CSV files), and who signed it off. Posting goes step
-- by step from this row, so a retried job resumes where the last attempt stopped.
CREATE TABLE "digest_review" (
    "since" TIMESTAMPTZ(3) NOT NULL,
    "until" TIMESTAMPTZ(3) NOT NULL,
    "time_zone" TEXT NOT NULL,
    "report" TEXT NOT NULL,
    "sha256" CHAR(64) NOT NULL,
    "channel_id" TEXT NOT NULL,
    "chart_file_id" TEXT,
    "csv_file_id" TEXT,
    "message_ts" TEXT,
    "reminder_ts" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "posted_at" TIMESTAMPTZ(3),
    "signed_off_by" TEXT,
    "signed_off_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "digest_review_pkey" PRIMARY KEY ("since")
);
