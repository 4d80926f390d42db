// Package inbox is the hub's mail-in adapter: it reads the hub's own
// mailbox over IMAP, keeps every message it reads, and runs each one,
// once, through the code that acts on it.
//
//   - ingest.go is the IMAP ingester (Ingester). It runs on every replica,
//     and a lease lets one at a time read a mailbox. It stores each new
//     message raw, with its act jobs and the mailbox's checkpoint, in one
//     transaction per chunk, so that a message read is never lost, even
//     one that cannot be parsed; once a message is acted on, it flags it
//     (\Seen and KeywordDone) on the server.
//   - act.go is the act worker (ActWorker, Actor), run from the River jobs
//     the ingester queued. It parses and classifies a stored message with
//     package mailmsg, under Limits and a deadline (MessageTimeout), and
//     hands it to its Handler (the reply use case), which records the
//     Outcome through Finish in the transaction of its effects, so that a
//     message is acted on once. A message over a parsing limit, or one
//     that keeps failing (MaxAttempts), is set aside in triage
//     (ClassMalformed, ClassQuarantined) and never acted on.
//   - match.go names how a message was matched (MatchToken, ...) and the
//     plus-address tags of report and draft addresses.
//   - store.go reads the stored messages for the API and the UI (Store:
//     an incident's replies, triage, filing from triage), and keeps the
//     ingester's checkpoints and leases.
//   - metrics.go counts what was set aside and what failed.
//
// The inbox owns its tables: inbound_messages, inbox_checkpoints and
// inbox_leases. Reading mail (MIME, reply extraction, classification,
// authentication results) is package mailmsg's, pure and fuzzed; nothing
// here parses a message itself.
package inbox
