package directory

import (
	"slices"
	"strings"
	"testing"
)

// TestMaintenanceGroups: a system's notify: groups hear of its planned
// maintenance; a system without them, or one the directory does not know,
// brings in the status audience; a notify group that does not exist is
// refused with its place in the file.
func TestMaintenanceGroups(t *testing.T) {
	t.Parallel()
	src := `organization: X
people:
  - {email: a@x.test, name: Ann}
groups:
  - {name: customer-service, members: [a@x.test]}
  - {name: exec, members: [a@x.test]}
escalations:
  - {system: checkout, responders: [a@x.test], notify: [customer-service]}
  - {system: payments, responders: [a@x.test]}
audiences:
  status: [exec]
`
	d, err := ParseYAML([]byte(src), "groups.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		systems []string
		want    []string
	}{
		{[]string{"checkout"}, []string{"customer-service"}},
		{[]string{"Checkout"}, []string{"customer-service"}},
		{[]string{"payments"}, []string{"exec"}},
		{[]string{"checkout", "payments"}, []string{"customer-service", "exec"}},
		{[]string{"warp-drive"}, []string{"exec"}},
		{nil, []string{"exec"}},
	} {
		if got := d.MaintenanceGroups(c.systems...); !slices.Equal(got, c.want) {
			t.Errorf("MaintenanceGroups(%v) = %v, want %v", c.systems, got, c.want)
		}
	}

	_, err = ParseYAML([]byte(strings.Replace(src, "notify: [customer-service]", "notify: [custmer-service]", 1)), "groups.yaml")
	if err == nil || !strings.Contains(err.Error(), "notify group custmer-service is not a group") || !strings.Contains(err.Error(), "groups.yaml:8:") {
		t.Errorf("unknown notify group: %v", err)
	}
}
