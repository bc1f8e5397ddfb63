import type { AuditSink } from './record.js';

/**
 * Copies every durable audit record to the operational log as well, for
 * setups that collect stderr centrally. Off by default: the file is the trail.
 */
export function mirrorToLog(sink: AuditSink, logger: { info(data: object, message: string): void }): AuditSink {
  return {
    async append(entry) {
      const record = await sink.append(entry);
      logger.info({ audit: record }, 'audit record');
      return record;
    },
    status: () => sink.status(),
  };
}
