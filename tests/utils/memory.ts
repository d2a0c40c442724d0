import { readFileSync } from 'node:fs';

/** A process's resident set size in bytes (Linux: VmRSS of /proc/PID/status). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

export interface RssSampler {
  /** The largest RSS seen so far, in bytes. */
  readonly max: number;
  /** Stops sampling; returns the largest RSS seen, in bytes. */
  stop(): number;
}

/** Samples a process's RSS every `intervalMs` and keeps the largest value seen. */
export function sampleRss(pid: number, intervalMs = 20): RssSampler {
  let max = rssBytes(pid);
  const timer = setInterval(() => {
    try {
      max = Math.max(max, rssBytes(pid));
    } catch {
      // The process is gone: the test sees that on its own.
    }
  }, intervalMs);
  return {
    get max() {
      return max;
    },
    stop() {
      clearInterval(timer);
      return max;
    },
  };
}

export const MiB = 1024 * 1024;
