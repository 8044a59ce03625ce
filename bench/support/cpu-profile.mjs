// Preload for bench runs: `NODE_OPTIONS=--import ./bench/support/cpu-profile.mjs` writes a
// .cpuprofile of the process to $CPU_PROFILE_DIR when it exits (--cpu-prof is refused in NODE_OPTIONS).
import fs from "node:fs";
import inspector from "node:inspector";
import path from "node:path";

const session = new inspector.Session();
session.connect();
session.post("Profiler.enable");
session.post("Profiler.start");
process.on("exit", () => {
  session.post("Profiler.stop", (error, result) => {
    if (error) return;
    const dir = process.env.CPU_PROFILE_DIR ?? "/tmp";
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `bot-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
  });
});
