// The common shape of one shipping run (collector, kcat, rsyslog): how long it
// took to get every line of the data set acknowledged by Kafka, and what it
// cost the shipper.
export interface ShipResult {
  name: string;
  seconds: number;
  cpuSeconds: number;
  peakRssBytes: number;
  /** Kafka messages the shipper produced (a line, an event or a batch of events). */
  messages: number;
  /** Set when a shipper lost some events: its figures stand, with this note. */
  lost?: string;
  /** Set when the run did not complete: its figures are then null. */
  failed?: string;
}

export function failed(name: string, why: string): ShipResult {
  return { name, seconds: NaN, cpuSeconds: NaN, peakRssBytes: NaN, messages: 0, failed: why };
}
