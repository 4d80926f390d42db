package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
)

// errHelp is what a command returns when --help was asked for: its usage
// went to stdout, and sitrep exits 0.
var errHelp = errors.New("help")

// usageError is a command line the flag package refused; its message and
// the command's usage were printed as the flags were parsed.
type usageError struct{ err error }

func (u *usageError) Error() string        { return u.err.Error() }
func (u *usageError) Is(target error) bool { return target == errUsage }

func isUsageError(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

// flagOutput is where a command's flag set writes: its usage goes to
// stdout when help was asked for (a person reading it, exit 0) and to
// stderr when the command line was wrong (exit 2). Under --json nothing
// is written but the help: the error is then one JSON object (run).
type flagOutput struct {
	e           env
	help, quiet bool
}

func (o *flagOutput) Write(p []byte) (int, error) {
	switch {
	case o.help:
		return o.e.stdout.Write(p)
	case o.quiet:
		return len(p), nil
	}
	return o.e.stderr.Write(p)
}

// newFlagSet is the flag set of `sitrep SYNOPSIS`: every command's, the
// server's and the clients', so that --help reads the same everywhere.
func newFlagSet(e env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(&flagOutput{e: e})
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: sitrep %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, allowing flags after positional arguments
// (`sitrep show INC-1 --json`). --help anywhere is errHelp.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	if o, ok := fs.Output().(*flagOutput); ok {
		o.help, o.quiet = helpAsked(args), jsonAsked(args)
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, &usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// flagArg reports whether args hold one of names before a "--".
func flagArg(args []string, names ...string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		for _, n := range names {
			if a == n {
				return true
			}
		}
	}
	return false
}

func helpAsked(args []string) bool {
	return flagArg(args, "-h", "--h", "-help", "--help")
}

func jsonAsked(args []string) bool {
	return flagArg(args, "-json", "--json", "-json=true", "--json=true")
}

// jsonError is the object `--json` prints on stderr when a command fails:
// the API's error shape, with the CLI flag that sets the field at fault.
type jsonError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Flag    string `json:"flag,omitempty"`
}

// writeJSONError prints err as {"error": {...}}: the API's code when the
// server answered, "usage" for a command line that could not be parsed,
// "unavailable" when the server could not be reached, else "invalid".
func writeJSONError(w io.Writer, err error) {
	je := jsonError{Code: "invalid", Message: err.Error()}
	var api *apiError
	var reach *url.Error
	switch {
	case errors.As(err, &api):
		je = jsonError{Code: api.Code, Message: api.Msg, Field: api.Field, Flag: api.Flag}
	case errors.Is(err, errUsage):
		je.Code = "usage"
	case errors.As(err, &reach):
		je.Code = "unavailable"
	}
	b, _ := json.Marshal(map[string]jsonError{"error": je})
	fmt.Fprintf(w, "%s\n", b)
}

// fieldFlags names the CLI flag of an API field where the two differ by
// more than `_` for `-`; a name applies only to a command that has it.
var fieldFlags = map[string][]string{
	"groups":                 {"to"},
	"holding":                {"hold"},
	"email":                  {"from", "add"},
	"location":               {"where"},
	"access":                 {"how"},
	"observed":               {"saw"},
	"roles.incident_lead":    {"lead"},
	"roles.comms_lead":       {"comms"},
	"scope.detection_detail": {"detail"},
	"scope.detected_via":     {"detected-via"},
	"first_failure_at":       {"since"},
	"triggered_by":           {"by"},
	"environment":            {"env"},
	"markdown":               {"file", "issue"},
	"text":                   {"issue", "improvement"},
	"slot":                   {"book", "reschedule"},
	"status":                 {"status", "status-file"},
	"translations":           {"translation", "translation-file"},
}

// flagFor is the flag of fs that sets the API field, "--root-cause-unknown"
// for root_cause_unknown, or "" when no flag of this command does.
func flagFor(fs *flag.FlagSet, field string) string {
	if fs == nil || field == "" {
		return ""
	}
	last := field
	if i := strings.LastIndexByte(last, '.'); i >= 0 {
		last = last[i+1:]
	}
	candidates := append(append([]string{}, fieldFlags[field]...), fieldFlags[last]...)
	if first, _, ok := strings.Cut(field, "."); ok {
		// translations.de is --translation's
		candidates = append(candidates, fieldFlags[first]...)
	}
	candidates = append(candidates, strings.ReplaceAll(last, "_", "-"))
	for _, name := range candidates {
		if fs.Lookup(name) != nil {
			return "--" + name
		}
	}
	return ""
}

// apiName matches what reads as an API field name in a server message
// (root_cause_unknown, scope.systems): a word with an underscore or dot
// inside. Plain words (status, fix) are left alone: they are prose too.
var apiName = regexp.MustCompile(`\b[a-z]+(?:[_.][a-z]+)+\b`)

// withFlags rewrites the API field names in a server message as the
// command's flags, leaving the names it has no flag for.
func withFlags(fs *flag.FlagSet, msg string) string {
	return apiName.ReplaceAllStringFunc(msg, func(name string) string {
		if f := flagFor(fs, name); f != "" {
			return f
		}
		return name
	})
}
