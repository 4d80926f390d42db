package postmortem

import "context"

// Find returns the post-mortem of the incident ref, or nil when none was
// started. Unlike Get, it never starts one: a look that must not write.
func (s *Service) Find(ctx context.Context, ref string) (*Postmortem, error) {
	inc, err := s.Incidents.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	pm, err := load(ctx, s.DB, inc.ID)
	if pm == nil || err != nil {
		return nil, err
	}
	return s.finish(pm, inc), nil
}
