// Package shim exposes the upstream random provider's Plugin Framework constructor to the bridge.
package shim

import (
	tfpf "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns the upstream provider (terraform-provider-random internal/provider.New).
func NewProvider() tfpf.Provider { return provider.New() }
