// Run by process-guard.test.ts as its own process: installs the guard, then lets a promise reject
// with nothing awaiting it and a timer throw, then says whether it is still running.
import { guardProcess } from "../../app/server/platform/process-guard.server";

guardProcess();
void Promise.reject(new Error("stray rejection sk_test_leakme123"));
setTimeout(() => {
  throw new Error("stray throw");
}, 10);
setTimeout(() => {
  console.log(JSON.stringify({ msg: "still running" }));
  process.exit(0);
}, 200);
