import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { dirname } from 'node:path';

/**
 * The `profile` control message of every bench server: `action: 'start'` begins a CPU
 * profile of this process (200 µs sampling), anything else stops it and writes it to `file`.
 */
export function createProfiler() {
  let session: Session | null = null;
  return async (message: Record<string, unknown>): Promise<void> => {
    if (message.action === 'start') {
      session ??= new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
      await session.post('Profiler.start');
    } else if (session) {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      session = null;
      const file = String(message.file);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(profile));
    }
  };
}
