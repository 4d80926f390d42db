// Package inbox understands mail that comes back to sitrep: replies to status
// emails, out-of-office answers, bounces and calendar replies.
//
// The files in this package split by concern:
//
//   - parse*.go turns raw RFC 5322 bytes into a Message (enmime does the MIME
//     work: charsets, HTML-only mail, attachments), after CheckStructure
//     has checked the raw bytes against Limits (enmime has none, and its
//     time is exponential in the nesting depth), reads reply-by-mail
//     commands from the leads (ParseCommand) and reply tokens from
//     plus-addresses (AddressToken).
//   - extract*.go finds the new text of a reply: what the person wrote, without
//     the quoted history and the signature (ExtractReply).
//   - classify*.go tells replies from auto-replies, bounces and calendar
//     replies (Classify), reads delivery status notifications into a Bounce,
//     and reads answers to "is the service restored for you?"
//     (ClassifyConfirmation).
//   - auth*.go decides whether a message's From can be believed, from the
//     Authentication-Results headers that a trusted receiving server added
//     (CheckAuthentication).
//
// Everything here is a pure function of its input: no network, no database,
// no clock. The ingest loop and the storage live elsewhere and call these.
//
// Message-IDs (MessageID, InReplyTo, References, Bounce.OriginalMessageID)
// are kept without their angle brackets, so that "<a@b>" and "a@b" compare
// equal wherever they came from.
package inbox
