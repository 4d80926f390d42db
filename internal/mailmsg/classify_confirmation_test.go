package mailmsg

import "testing"

func TestClassifyConfirmation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Confirmation
	}{
		// Confirmed
		{"yes", Confirmed},
		{"Yes!", Confirmed},
		{"Yes, restored.", Confirmed},
		{"yep", Confirmed},
		{"Works now, thanks!", Confirmed},
		{"All good here.", Confirmed},
		{"Confirmed", Confirmed},
		{"It's back up, thank you", Confirmed},
		{"Looks good from our side.", Confirmed},
		{"Fixed for us. Thanks for the quick work.", Confirmed},
		{"No problems anymore, thanks", Confirmed},
		{"No more errors since 15:10.", Confirmed},
		{"We can log in again.", Confirmed},
		{"Checkout is working again", Confirmed},
		{"Not seeing the error anymore", Confirmed},
		{"Yes it\u2019s working", Confirmed},
		// StillBroken
		{"no", StillBroken},
		{"No.", StillBroken},
		{"Nope, same error.", StillBroken},
		{"Still broken", StillBroken},
		{"still down for us", StillBroken},
		{"Not working", StillBroken},
		{"It doesn't work", StillBroken},
		{"Not fixed yet", StillBroken},
		{"the app still shows the same error", StillBroken},
		{"Still getting 502s on checkout", StillBroken},
		{"Isn't restored for us", StillBroken},
		{"we cannot log in", StillBroken},
		{"Login fails with error 500", StillBroken},
		{"Nothing works", StillBroken},
		// "yes" followed by a failure: never Confirmed
		{"yes it's still broken", StillBroken},
		{"Yes, still down", StillBroken},
		// Ambiguous
		{"", Ambiguous},
		{"Thanks for the update", Ambiguous},
		{"Mostly working, some pages are slow", Ambiguous},
		{"I think so", Ambiguous},
		{"Not sure, will check tomorrow", Ambiguous},
		{"Is it supposed to be fixed?", Ambiguous},
		{"Works on desktop but mobile still fails", Ambiguous},
		{"No, it works now", Ambiguous},
		{"Who should I ask about the invoice?", Ambiguous},
	}
	for _, tt := range tests {
		if got := ClassifyConfirmation(tt.in); got != tt.want {
			t.Errorf("ClassifyConfirmation(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
