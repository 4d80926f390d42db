// Package blameless checks a text written about an incident for people's
// names and for blame before it leaves the room.
//
// The outage guide asks for a blameless post-mortem: "mistakes happen and
// the key is to focus on what improvements can be made", "be objective –
// not judgmental", and of the system or process failures on the board,
// "don't use people's names" ("John dropped a database table
// accidentally" is its example of what not to write). The facilitator then
// publishes a summary to everyone. So two texts are checked here: the blameless summary,
// which goes to the whole organisation (package resolution lints it before
// sending, and its draft uses the lint to replace names in copied notes),
// and each Issue on the post-mortem board (package postmortem).
//
// Lint reports two kinds of Finding, each with its line and rune columns in
// the Markdown source and a neutral rewrite to suggest:
//
//   - KindName: a person's full name, a part of it, an email address, its
//     local part or a chat handle, from a NameSet the caller builds from
//     the directory. Names that are also English words ("Will", "Mark",
//     "May") are flagged only where they read like a person.
//   - KindBlame: blame language from the rule lists: fault ("Bob's
//     fault"), human error, judgements of character ("careless"),
//     hindsight ("should have known") and omissions pinned on a person
//     ("the on-call failed to").
//
// Fenced code, code spans, URLs, link destinations and HTML comments are
// not read: a log line or a link is not prose. The rules ship embedded
// (lintdata/*.txt, the pattern language is described in blame.txt);
// LoadRules adds an organisation's own lists on top.
//
// A finding is advice a person can overrule: a caller refuses the text with
// Blocked (a conflict, HTTP 409) unless the author overrides it, and then
// records the override on the timeline. testdata/corpus.tsv measures
// precision and recall on post-mortem sentences, so that a change to the
// rules or the heuristics that makes them worse fails a test.
//
// The package knows nothing of the directory or of incidents: callers copy
// people into Person values, so that it can be used by any domain package.
package blameless
