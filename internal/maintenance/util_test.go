package maintenance_test

import (
	"errors"
	"strconv"

	"github.com/jhillyerd/enmime/v2"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

func asErr(err error, target **errs.Error) bool { return errors.As(err, target) }

func subjects(mail []*enmime.Envelope) []string {
	var out []string
	for _, m := range mail {
		out = append(out, m.GetHeader("Subject"))
	}
	return out
}
