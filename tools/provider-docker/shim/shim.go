// Package shim exposes the upstream docker provider (SDKv2) to the bridge.
package shim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"
	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// NewProvider returns the upstream provider (internal/provider.New), stamped with our version.
func NewProvider(version string) *schema.Provider { return provider.New(version)() }
