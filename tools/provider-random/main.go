// pulumi-resource-random for the engine rehearsal: the bridged Terraform random provider, served
// with a Pulumi schema generated at build time from this same ProviderInfo.
//
// Why our own main: pulumi-random's provider module (github.com/pulumi/pulumi-random/provider/v4)
// is not served by the Go module proxy here (v4.18.4 and its pseudo-version were refused; see
// tools/README.md). What it adds to the bridge is the token mapping below; the bridge
// (pulumi-terraform-bridge v3.115.0, the version pulumi-random v4.18.4 pins) and the upstream
// provider (the pseudo-version pulumi-random v4.18.4 pins) are served.
//
//   pulumi-resource-random tfgen schema --out generated   writes schema.json + bridge-metadata.json
//   pulumi-resource-random                                 serves the provider to the engine
package main

import (
	"context"
	"embed"
	"os"

	pftfbridge "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	pftfgen "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/terraform-providers/terraform-provider-random/shim"
)

// version is set with -ldflags -X main.version=... (build.env); the bridge panics on an empty one.
var version string

//go:embed all:generated
var generated embed.FS

func providerInfo(metadata []byte) tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:            pftfbridge.ShimProvider(shim.NewProvider()),
		Name:         "random",
		Version:      version,
		License:      "Apache-2.0",
		Repository:   "https://github.com/pulumi/pulumi-random",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		// The token of every resource must be the one @pulumi/random's SDK sends:
		// random_password -> random:index/randomPassword:RandomPassword (all in module "index",
		// each name prefixed "Random"; @pulumi/random 4.18.4 bin/randomPassword.js).
		EnableAccurateBridgePreview: true,
	}
	info.MustComputeTokens(tokens.SingleModule("random_", "index", func(module, name string) (string, error) {
		return tokens.MakeStandard("random")(module, "Random"+name)
	}))
	return info
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "tfgen" {
		os.Args = append(os.Args[:1], os.Args[2:]...)
		pftfgen.Main("random", providerInfo(nil))
		return
	}
	schema, err := generated.ReadFile("generated/schema.json")
	if err != nil {
		panic("pulumi-resource-random was built without its schema (build it with scripts/build-tools.sh): " + err.Error())
	}
	metadata, _ := generated.ReadFile("generated/bridge-metadata.json")
	pftfbridge.Main(context.Background(), "random", providerInfo(metadata), pftfbridge.ProviderMetadata{PackageSchema: schema})
}
