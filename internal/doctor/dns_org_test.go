package doctor

import "testing"

func TestOrgDomainUsesThePublicSuffixList(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"mail.example.com":     "example.com",
		"example.com":          "example.com",
		"status.example.co.uk": "example.co.uk",
		"a.b.example.com.au":   "example.com.au",
	} {
		if got := orgDomain(in); got != want {
			t.Errorf("orgDomain(%q) = %q, want %q", in, got, want)
		}
	}
	if aligned("mail.other.co.uk", "status.example.co.uk", false) {
		t.Error("two registrations under co.uk are not aligned")
	}
}
