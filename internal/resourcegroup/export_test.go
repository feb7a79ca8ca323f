package resourcegroup

// SetSweepBatch sets the page size of s's sweeps.
func SetSweepBatch(s *Service, n int) { s.sweepBatch = n }
