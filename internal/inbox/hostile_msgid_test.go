package inbox_test

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A Message-ID that is not UTF-8 (obsolete 8-bit header text, or written
// to break things) is stored like any other message, and the mail after
// it is acted on: PostgreSQL refuses such bytes in a text column, and
// one email refused with its whole batch stopped the ingest for good.
func TestMessageIDThatIsNotUTF8IsStoredAndTheNextActedOn(t *testing.T) {
	t.Parallel()
	h, inc, _ := setup(t)
	to := "status+" + inc.ReplyToken + "@example.test"
	head := "From: Ana <ana@example.test>\r\nTo: " + to + "\r\nSubject: Re: [INC-1] Checkout unavailable\r\n"
	h.appendRaw("INBOX", []byte(head+"Message-ID: <\xff\xfe-latin1-\xe9@x>\r\nContent-Type: text/plain\r\n\r\nIs it fixed?\r\n"))
	h.appendRaw("INBOX", []byte(head+"Message-ID: <\xc3\x28@x>\r\nContent-Type: text/plain\r\n\r\nAnd now?\r\n"))
	// 8-bit bytes where a header or body declares no charset, and one that
	// lies about it: the text is stored and acted on too.
	h.appendRaw("INBOX", []byte("From: \xc1na <ana@example.test>\r\nTo: "+to+"\r\nSubject: Re: [INC-1] \xff\xfe\r\nMessage-ID: <bytes1@x>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nStill \xff down \xc3\x28 for us.\r\n"))
	h.appendRaw("INBOX", []byte(head+"Message-ID: <after1@x>\r\nContent-Type: text/plain\r\n\r\nStill down for us.\r\n"))
	h.waitActed(4)
	rows, err := h.db.Query(`SELECT message_id FROM inbound_messages ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var mids []string
	for rows.Next() {
		var mid string
		if err := rows.Scan(&mid); err != nil {
			t.Fatal(err)
		}
		mids = append(mids, mid)
	}
	rows.Close()
	if len(mids) != 4 {
		t.Fatalf("stored %d messages (%q), want 4", len(mids), mids)
	}
	for _, mid := range mids {
		if !utf8.ValidString(mid) {
			t.Errorf("stored Message-ID %q is not UTF-8", mid)
		}
	}
	if mids[0] == mids[1] {
		t.Errorf("two different Message-IDs stored as one: %q", mids[0])
	}
	if !strings.Contains(strings.Join(mids, " "), "after1@x") {
		t.Errorf("the message after them was not stored: %q", mids)
	}
}
