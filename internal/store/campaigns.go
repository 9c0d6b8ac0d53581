package store

// campaignQueries are the campaign statements that differ by dialect.
type campaignQueries struct{}
