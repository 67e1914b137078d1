import { pino } from 'pino';

/** A quiet logger for code under test; SPARKLOGS_TEST_LOG=debug shows it. */
export const testLog = pino({ level: process.env.SPARKLOGS_TEST_LOG ?? 'silent' });
