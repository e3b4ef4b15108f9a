/**
 * Auto-lock: a chrome.alarms alarm set to fire after the configured minutes without use; every
 * use re-arms it. Alarms outlive the service worker, so the lock happens even if the worker slept.
 */
export const AUTO_LOCK_ALARM = 'duet/auto-lock';

export interface AlarmPort {
  schedule(name: string, delayMinutes: number): Promise<void>;
  clear(name: string): Promise<void>;
}

export async function armAutoLock(alarms: AlarmPort, minutes: number): Promise<void> {
  if (minutes > 0) await alarms.schedule(AUTO_LOCK_ALARM, minutes);
  else await alarms.clear(AUTO_LOCK_ALARM);
}
