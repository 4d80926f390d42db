package mailmsg

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"unicode"

	"github.com/jhillyerd/enmime/v2"
	"github.com/jhillyerd/enmime/v2/mediatype"

	"github.com/sitrep-dev/sitrep/internal/errs"
)

// Limits bound what one inbound message may cost to parse. enmime has no
// limits of its own, and its boundary reader is exponential in the nesting
// depth: measured on enmime v2.3.0, one chain of unclosed multipart/mixed
// levels takes about 70 ms at 16 levels and doubles with each level
// beyond, and sibling chains add up (eight chains of 16 levels: 2.4 s), so
// a message of 1.6 KB with 27 levels never finishes. CheckStructure reads
// the raw bytes once, cheaply, and refuses a message over a limit before
// enmime sees it.
type Limits struct {
	// MaxDepth is how deeply multiparts may nest (the top-level
	// multipart is depth 1).
	MaxDepth int
	// MaxNestingWork bounds the sum, over every multipart, of 2^depth:
	// what enmime's boundary reader costs grows that way, and neither the
	// depth nor the number of parts alone bounds it (many siblings, each
	// nested just below MaxDepth, would).
	MaxNestingWork int64
	// MaxParts is the number of MIME parts, at every level.
	MaxParts int
	// MaxHeaderFields and MaxHeaderBytes bound each header block: the
	// message's own and every part's.
	MaxHeaderFields int
	MaxHeaderBytes  int
	// MaxDecodedBytes bounds the decoded content of all parts together
	// (charset conversion can make it larger than the raw message).
	MaxDecodedBytes int64
}

// DefaultLimits are generous for real mail (a reply with a few
// attachments nests 3 or 4 levels and has a dozen parts) and keep the
// worst message near 0.1 s of parsing.
func DefaultLimits() Limits {
	return Limits{
		MaxDepth:        20,
		MaxNestingWork:  1 << 16,
		MaxParts:        1000,
		MaxHeaderFields: 1000,
		MaxHeaderBytes:  256 << 10,
		MaxDecodedBytes: 64 << 20,
	}
}

// WithDefaults fills the zero fields of l from DefaultLimits.
func (l Limits) WithDefaults() Limits {
	d := DefaultLimits()
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxNestingWork <= 0 {
		l.MaxNestingWork = d.MaxNestingWork
	}
	if l.MaxParts <= 0 {
		l.MaxParts = d.MaxParts
	}
	if l.MaxHeaderFields <= 0 {
		l.MaxHeaderFields = d.MaxHeaderFields
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxDecodedBytes <= 0 {
		l.MaxDecodedBytes = d.MaxDecodedBytes
	}
	return l
}

// Structure is what CheckStructure found: an upper bound of the MIME tree
// enmime builds from the same bytes (FuzzInbound checks that it is one).
type Structure struct {
	Depth        int   // deepest multipart nesting
	Parts        int   // parts below the top level
	NestingWork  int64 // sum over multiparts of 2^depth
	HeaderFields int   // the most fields in one header block
	HeaderBytes  int   // the largest header block
}

// overLimit builds the error for a message over a limit: errs.TooLarge,
// the reason readable by people (it is shown in triage).
func overLimit(format string, args ...any) error {
	return errs.E(errs.TooLarge, "mailmsg: "+format, args...)
}

// boundaryLevel is a multipart whose parts are being read.
type boundaryLevel struct {
	delim   []byte // "--" + boundary
	depth   int
	started bool // its first delimiter was seen (before it: the preamble)
	// uncertain: its header followed a line that enmime may or may not
	// take for a delimiter (see CheckStructure); it never ends the parts
	// above it.
	uncertain bool
}

// CheckStructure reads the raw message once, line by line, following the
// multipart boundaries the way enmime's boundary reader finds them (RFC
// 2046 5.1.1: a delimiter line is "--" boundary, then optional white
// space; "--" boundary "--" closes the multipart; an outer boundary ends
// every part inside it), and returns an errs.TooLarge error naming the
// first limit the message is over. Its cost is linear in the size of the
// message times the depth, which is itself limited.
func CheckStructure(raw []byte, lim Limits) (Structure, error) {
	lim = lim.WithDefaults()
	var s Structure
	var stack []boundaryLevel

	// The header block being read: the message's own (depth 0) or a
	// part's, at the depth of its multipart.
	inHeader, headerDepth, headerUncertain := true, 0, false
	var fields int
	var hdr bytes.Buffer // the header block, read again with enmime's own header reader

	endHeader := func() error {
		inHeader = false
		s.HeaderFields = max(s.HeaderFields, fields)
		s.HeaderBytes = max(s.HeaderBytes, hdr.Len())
		if fields > lim.MaxHeaderFields {
			return overLimit("a header block has %d fields; the limit is %d", fields, lim.MaxHeaderFields)
		}
		if hdr.Len() > lim.MaxHeaderBytes {
			return overLimit("a header block has %d bytes; the limit is %d", hdr.Len(), lim.MaxHeaderBytes)
		}
		// enmime repairs broken headers (a line without a colon continues
		// the field above, for one): read the Content-Type as it will.
		h, _ := enmime.ReadHeader(bufio.NewReader(&hdr), discardErrors{})
		ctype := h.Get("Content-Type")
		if ctype == "" {
			return nil
		}
		mtype, params, _, err := mediatype.Parse(ctype)
		if err != nil {
			return nil
		}
		// enmime reads the top level as multipart for any multipart/ type,
		// a part for any type but text/plain and text/html that has a
		// boundary parameter.
		boundary := params["boundary"]
		nests := strings.HasPrefix(mtype, "multipart/")
		if headerDepth > 0 {
			nests = boundary != "" && mtype != "text/plain" && mtype != "text/html"
		}
		if !nests {
			return nil
		}
		depth := headerDepth + 1
		s.Depth = max(s.Depth, depth)
		if depth > lim.MaxDepth {
			return overLimit("multiparts nest more than %d levels deep", lim.MaxDepth)
		}
		s.NestingWork += 1 << depth
		if s.NestingWork > lim.MaxNestingWork {
			// The scan stops here, so deeper levels are not counted: "at
			// least", or a 27-level message reads as 16 levels deep.
			return overLimit("multiparts nest too deeply or too often (at least %d levels; nesting work %d, the limit is %d)",
				depth, s.NestingWork, lim.MaxNestingWork)
		}
		stack = append(stack, boundaryLevel{delim: []byte("--" + boundary), depth: depth, uncertain: headerUncertain})
		return nil
	}
	startHeader := func(depth int, uncertain bool) {
		inHeader, headerDepth, headerUncertain = true, depth, uncertain
		fields = 0
		hdr.Reset()
	}

	for rest := raw; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]

		// An outer boundary wins: enmime's outer readers see the line
		// before the inner ones do.
		matched := false
		for i := range stack {
			lv := &stack[i]
			closing, ok := lv.matches(line)
			if !ok || lv.uncertain {
				continue
			}
			matched = true
			if inHeader {
				if err := endHeader(); err != nil {
					return s, err
				}
			}
			if closing {
				stack = stack[:i]
				break
			}
			lv.started = true
			depth := lv.depth
			stack = stack[:i+1]
			if err := s.countPart(lim); err != nil {
				return s, err
			}
			startHeader(depth, false)
			break
		}
		if !matched && len(stack) > 0 {
			// enmime also takes for a delimiter some lines that this scan
			// does not follow exactly (a boundary after a stray CR, or after
			// a byte or two of junk). Such a line ends nothing here; a part
			// header after it is counted as nested below the deepest level,
			// which can only overstate the depth.
			for i := range stack {
				if bytes.Contains(line, stack[i].delim) {
					matched = true
					if inHeader {
						if err := endHeader(); err != nil {
							return s, err
						}
					}
					if err := s.countPart(lim); err != nil {
						return s, err
					}
					startHeader(stack[len(stack)-1].depth, true)
					break
				}
			}
		}
		if matched || !inHeader {
			continue
		}

		// A blank line ends the header (what bufio's ReadLine leaves of it
		// is empty, as for enmime).
		body := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(body) == 0 {
			if err := endHeader(); err != nil {
				return s, err
			}
			continue
		}
		hdr.Write(line)
		if body[0] != ' ' && body[0] != '\t' {
			fields++
		}
		// Stop early rather than read a huge header to the end.
		if fields > lim.MaxHeaderFields || hdr.Len() > lim.MaxHeaderBytes {
			return s, endHeader()
		}
	}
	if inHeader {
		if err := endHeader(); err != nil {
			return s, err
		}
	}
	return s, nil
}

// matches reports whether line is a delimiter of this multipart, and
// whether it is the closing one. Within the parts a delimiter starts the
// line; in the preamble enmime takes one anywhere in a line.
func (lv *boundaryLevel) matches(line []byte) (closing, ok bool) {
	at := 0
	if !lv.started {
		at = bytes.Index(line, lv.delim)
		if at < 0 {
			return false, false
		}
	} else if !bytes.HasPrefix(line, lv.delim) {
		return false, false
	}
	after := line[at+len(lv.delim):]
	if bytes.HasPrefix(after, []byte("--")) {
		return true, true
	}
	if len(after) > 0 && unicode.IsSpace(rune(after[0])) {
		return false, true
	}
	return false, false
}

// decodedSize adds up the decoded content of every part of the tree.
func decodedSize(root *enmime.Part) int64 {
	var n int64
	for stack := []*enmime.Part{root}; len(stack) > 0; {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if p == nil {
			continue
		}
		n += int64(len(p.Content))
		stack = append(stack, p.FirstChild, p.NextSibling)
	}
	return n
}

func (s *Structure) countPart(lim Limits) error {
	s.Parts++
	if s.Parts > lim.MaxParts {
		return overLimit("the message has more than %d MIME parts; the limit is %d", s.Parts-1, lim.MaxParts)
	}
	return nil
}

func (s *Structure) String() string {
	return fmt.Sprintf("depth %d, %d parts, nesting work %d, header fields %d, header bytes %d",
		s.Depth, s.Parts, s.NestingWork, s.HeaderFields, s.HeaderBytes)
}

// discardErrors drops the complaints of enmime's header reader: parse
// collects them when it reads the message.
type discardErrors struct{}

func (discardErrors) AddError(string, string, ...any)   {}
func (discardErrors) AddWarning(string, string, ...any) {}
