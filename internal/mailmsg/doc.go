// Package mailmsg reads one mail message: the raw RFC 5322 bytes of mail
// that comes back to sitrep (replies to status emails, out-of-office
// answers, bounces, calendar replies) turned into what the hub acts on.
//
// The files split by concern:
//
//   - parse_limits.go checks the raw bytes against Limits before any MIME
//     parser sees them (CheckStructure): enmime has no limits of its own,
//     and its time is exponential in the nesting depth.
//   - parse*.go turns the bytes into a Message (enmime does the MIME work:
//     charsets, HTML-only mail, attachments), reads reply-by-mail commands
//     from the leads (ParseCommand) and reply tokens from plus-addresses
//     (AddressToken, Message.ReplyTokens).
//   - peek.go reads From, Subject and Message-ID from the top-level header
//     block alone, for a message that is not parsed (PeekHeader,
//     PeekMessageID).
//   - extract.go finds the new text of a reply: what the person wrote,
//     without the quoted history and the signature (ExtractReply).
//   - classify*.go tells replies from auto-replies, bounces, calendar
//     replies and the route probes of "sitrep doctor" (Classify, ProbeTag,
//     ProbeHeader), reads delivery status notifications into a Bounce, and
//     reads answers to "is the service restored for you?"
//     (ClassifyConfirmation).
//   - auth.go decides whether a message's From can be believed, from the
//     Authentication-Results headers that a trusted receiving server added
//     (CheckAuthentication).
//
// Replies are read in English, German, French, Spanish and Japanese:
// answers to the confirmation question, auto-replies, the quoting of the
// common clients and the leads' commands (docs/replies.md lists what, and
// TestReplyLabelledSet measures it on labelled replies in
// testdata/replies/labelled).
//
// Everything here is a pure function of its input: no network, no files,
// no database, no job queue, no clock. Storing the raw mail and running
// the act worker are package inbox's work, deciding what a message means
// for an incident package reply's; sitrep doctor and the resolution flow
// call the classifiers too. The package imports only the standard
// library, the parsers it builds on (enmime, the public suffix list) and
// the leaf packages authres and errs, so that anything may import it.
//
// Mail from the Internet is hostile, so every reader here is bounded in
// size and time. ParseLimited refuses a message over its byte limit or
// over Limits (MIME depth, nesting work, parts, header fields and bytes,
// decoded size) with errs.TooLarge before enmime reads it, which keeps
// the worst message within DefaultLimits near 0.1 s of parsing, and turns
// a panic in a parser into an errs.Invalid error that costs one message.
// The other readers are linear: their regular expressions are Go's RE2,
// ClassifyConfirmation reads the first 500 bytes, a DSN's recipient
// groups are capped. The fuzz targets hold all of this: FuzzInbound runs
// the whole path (structure check, parse, extraction, classification,
// authentication, commands) with a deadline per input, so that a
// super-linear input fails the fuzzer and not production, and checks that
// CheckStructure never sees less of the MIME tree than enmime builds;
// FuzzExtractReply checks that ExtractReply never invents a line:
//
//	go test -run '^$' -fuzz '^FuzzInbound$' -fuzztime 10m -parallel 1 ./internal/mailmsg/
//	go test -run '^$' -fuzz '^FuzzExtractReply$' -fuzztime 10m ./internal/mailmsg/
//
// Message-IDs (MessageID, InReplyTo, References, Bounce.OriginalMessageID)
// are kept without their angle brackets, so that "<a@b>" and "a@b" compare
// equal wherever they came from.
package mailmsg
