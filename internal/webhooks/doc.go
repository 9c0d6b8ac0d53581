// Package webhooks sends Recado's events to other systems.
//
// A manager registers an endpoint: a URL, the event types it wants (Events
// lists them) and a secret. Every change of state a message makes that some
// active endpoint subscribed to becomes a delivery, written by the store in
// the very transaction of the change, so that an event is announced if and
// only if it happened, and never lost to a crash.
//
// The deliverer (Service.Start) POSTs each delivery as JSON (Event) signed
// with HMAC-SHA256 over a timestamp and the body in the Recado-Signature
// header (Sign; receivers check it with Verify). A 2xx answer delivers it;
// anything else, or no answer within the timeout, is tried again with
// backoff (Config.Backoff) until Config.GiveUpAfter has passed since the
// event, when the delivery fails. Delivery is at least once: a receiver
// should de-duplicate by the delivery id (the Recado-Delivery header).
//
// The events of one message reach each endpoint in the order they happened:
// a delivery waits while an older one of the same message and endpoint is
// still pending. Deliveries of different messages are independent.
//
// Several instances may run the deliverer on one database: each claims due
// deliveries with a lease (no other claim returns them until it runs out),
// so a delivery is attempted by one instance at a time, and one whose
// instance died is tried again when its lease runs out.
package webhooks
