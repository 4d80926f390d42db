package directory

// interner keeps one copy of each value of a field that many people share
// (a time zone, a language, a team): in a directory of 100,000 people a few
// dozen strings instead of 100,000 copies of them.
type interner struct {
	seen map[string]string
}

// internMax bounds the interner: a field whose values are mostly distinct
// gains nothing from it and would only grow the map.
const internMax = 4096

func newInterner() *interner { return &interner{seen: map[string]string{}} }

// str returns the one copy of s.
func (in *interner) str(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := in.seen[s]; ok {
		return v
	}
	if len(in.seen) < internMax {
		in.seen[s] = s
	}
	return s
}

// bytes returns the one copy of b as a string, allocating only for a value
// not seen before.
func (in *interner) bytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if v, ok := in.seen[string(b)]; ok { // no allocation: the compiler looks up without converting
		return v
	}
	s := string(b)
	if len(in.seen) < internMax {
		in.seen[s] = s
	}
	return s
}
