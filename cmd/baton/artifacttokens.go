package main

import (
	"fmt"
	"time"

	"github.com/batonci/baton/internal/artifacttoken"
	"github.com/batonci/baton/internal/store"
)

// ArtifactTokenConfig bounds the artifact tokens jobs mint (README "Security").
type ArtifactTokenConfig struct {
	MaxArtifactTokenTTL          time.Duration // longest expires_in, and the default
	MaxArtifactTokensPerPipeline int64         // tokens one pipeline may mint
	MaxArtifactTokensPerProject  int64         // live tokens of one project
	MaxArtifactTokenUsesLog      int64         // recorded uses kept per token
}

func (c *Config) bindArtifactTokens(b flagBinder) {
	a := &c.ArtifactTokenConfig
	b.duration(&a.MaxArtifactTokenTTL, "max-artifact-token-ttl", "BATON_MAX_ARTIFACT_TOKEN_TTL", artifacttoken.DefaultMaxTTL, "longest lifetime of an artifact token a job mints (and its default)")
	b.integer(&a.MaxArtifactTokensPerPipeline, "max-artifact-tokens-per-pipeline", "BATON_MAX_ARTIFACT_TOKENS_PER_PIPELINE", artifacttoken.DefaultPerPipeline, "most artifact tokens the jobs of one pipeline may mint (-1: no limit)")
	b.integer(&a.MaxArtifactTokensPerProject, "max-artifact-tokens-per-project", "BATON_MAX_ARTIFACT_TOKENS_PER_PROJECT", artifacttoken.DefaultPerProject, "most live (not expired or revoked) artifact tokens of one project (-1: no limit)")
	b.integer(&a.MaxArtifactTokenUsesLog, "max-artifact-token-uses-log", "BATON_MAX_ARTIFACT_TOKEN_USES_LOG", artifacttoken.DefaultUsesLog, "recorded uses kept per artifact token, newest first")
}

func (a ArtifactTokenConfig) check() error {
	if a.MaxArtifactTokenTTL <= 0 {
		return fmt.Errorf("--max-artifact-token-ttl must be positive")
	}
	if a.MaxArtifactTokenUsesLog <= 0 {
		return fmt.Errorf("--max-artifact-token-uses-log must be positive")
	}
	return nil
}

// artifactTokens is the service minting and checking artifact tokens.
func (m *Main) artifactTokens(db *store.DB) *artifacttoken.Service {
	a := m.Config.ArtifactTokenConfig
	return &artifacttoken.Service{Store: db, Limits: artifacttoken.Limits{MaxTTL: a.MaxArtifactTokenTTL,
		PerPipeline: int(a.MaxArtifactTokensPerPipeline), PerProject: int(a.MaxArtifactTokensPerProject),
		UsesLog: int(a.MaxArtifactTokenUsesLog)}}
}
