package inbox

import (
	"fmt"
	"strings"
	"time"
)

// SetHooks lets the tests stop an ingester between fetching and storing
// (before) or between storing and acting (after), as a crash would.
func SetHooks(g *Ingester, before func(uids []uint32) error, after func(uids []uint32)) {
	g.beforeCommit, g.afterCommit = before, after
}

// SetBacklogHold shortens how long a backlog's act jobs wait at most.
func SetBacklogHold(g *Ingester, d time.Duration) { g.backlogHold = d }

// NestedMultipart builds issue 14's message of depth unclosed
// multipart/mixed levels, around one line of text. At 27 levels it is
// about 1.6 KB, and enmime never finishes it. (mailmsg's tests build the
// same message, with junk before the delimiters too; test helpers cannot
// be shared across packages.)
func NestedMultipart(depth int) []byte {
	var b strings.Builder
	b.WriteString("From: Mallory <mallory@attacker.example>\r\nTo: status@example.test\r\nSubject: nested\r\n" +
		"Message-ID: <nested-" + fmt.Sprint(depth) + "@attacker.example>\r\nMIME-Version: 1.0\r\n")
	for i := range depth {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%02d\r\n\r\n--b%02d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\nhello\r\n")
	return []byte(b.String())
}
