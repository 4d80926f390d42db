package mailmsg

import (
	"strings"
	"testing"
	"time"
)

func TestParseSubscribe(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want SubscribeCommand
		ok   bool
	}{
		{"subscribe", SubscribeCommand{Kind: "incident"}, true},
		{"  Subscribe.  \r\n", SubscribeCommand{Kind: "incident"}, true},
		{"subscribe all", SubscribeCommand{Kind: "all"}, true},
		{"SUBSCRIBE   ALL!", SubscribeCommand{Kind: "all"}, true},
		{"subscribe system checkout", SubscribeCommand{Kind: "system", Target: "checkout"}, true},
		{"subscribe system Checkout-EU", SubscribeCommand{Kind: "system", Target: "checkout-eu"}, true},
		{"unsubscribe", SubscribeCommand{Unsubscribe: true, Kind: "incident"}, true},
		{"unsubscribe all", SubscribeCommand{Unsubscribe: true, Kind: "all"}, true},
		{"unsubscribe system search", SubscribeCommand{Unsubscribe: true, Kind: "system", Target: "search"}, true},
		{"subscribe\n-- \nAnn Arbor\nSales", SubscribeCommand{Kind: "incident"}, true},

		{"", SubscribeCommand{}, false},
		{"subscribe me please", SubscribeCommand{}, false},
		{"subscribe\nand when is it fixed?", SubscribeCommand{}, false},
		{"Subscribers in the EU cannot pay.", SubscribeCommand{}, false},
		{"subscribe system", SubscribeCommand{}, false},
		{"subscribe system check out", SubscribeCommand{}, false},
		{"subscribe system " + strings.Repeat("a", 65), SubscribeCommand{}, false},
		{"subscribe everything", SubscribeCommand{}, false},
		{"resubscribe", SubscribeCommand{}, false},
		{strings.Repeat("subscribe ", 50), SubscribeCommand{}, false},
	} {
		got, ok := ParseSubscribe(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ParseSubscribe(%q) = %+v %v, want %+v %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzParseSubscribe: any text, no panic, within the deadline, and a
// command only from a short text.
func FuzzParseSubscribe(f *testing.F) {
	for _, s := range []string{"subscribe", "unsubscribe system checkout", "subscribe all\n-- \nx", "subscribe\u00a0all", strings.Repeat("subscribe ", 30)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		done := make(chan struct{})
		var ok bool
		go func() {
			defer close(done)
			_, ok = ParseSubscribe(s)
		}()
		select {
		case <-done:
		case <-time.After(inboundDeadline):
			t.Fatalf("ParseSubscribe took longer than %s on %d bytes", inboundDeadline, len(s))
		}
		if ok && len(strings.TrimSpace(s)) > maxSubscribeLine && !strings.Contains(s, "\n-- \n") {
			t.Fatalf("a %d-byte text read as a command", len(s))
		}
	})
}
