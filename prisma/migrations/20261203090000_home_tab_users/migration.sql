-- Who has opened the App Home tab: only their tabs are re-published when something changes
-- for them (everyone else gets a fresh tab when they first open it).
CREATE TABLE "home_tab_user" (
    "user_id" TEXT NOT NULL,
    "opened_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "home_tab_user_pkey" PRIMARY KEY ("user_id")
);
